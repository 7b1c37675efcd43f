import { describe, expect, it } from 'vitest';
import type { Identity } from '@llmops/kit/http/identity';
import { callerOf } from './renders.ts';

const runner: Identity = { kind: 'service', subject: 'runner', requestId: 'r' };
const viewer: Identity = { kind: 'account', subject: 'a-1', role: 'viewer', scopes: [], requestId: 'r' };

describe('whom a render counts against', () => {
  it("counts the runner's renders against the account the task is for, so one account cannot take every turn", () => {
    expect(callerOf(runner, 'account:a-1')).not.toBe(callerOf(runner, 'account:a-2'));
    expect(callerOf(runner)).toBe('service:runner');
  });

  it('ignores the header from an account: nobody renders as someone else', () => {
    expect(callerOf(viewer, 'account:a-2')).toBe('account:a-1');
  });
});
