import { describe, expect, it } from 'vitest';
import type { EventContract } from '../bus/contract.ts';
import * as audit from './audit.ts';
import * as gateway from './gateway.ts';
import { isLiveTopic, liveTopicsFor, LIVE_TOPICS, topicsMatching } from './live.ts';
import * as prompt from './prompt.ts';
import * as registry from './registry.ts';
import * as runner from './runner.ts';

/** Every event contract kit defines. */
const contracts = [audit, gateway, prompt, registry, runner]
  .flatMap((module) => Object.values(module))
  .filter(
    (value): value is EventContract => typeof value === 'object' && value !== null && 'topic' in value && 'payload' in value,
  );

describe('the topics the public event stream shows', () => {
  it('are the task lifecycle: every runner.task.* contract but runner.task.requested, and nothing else', () => {
    const live = contracts.map((contract) => contract.topic).filter(isLiveTopic);
    const expected = contracts
      .map((contract) => contract.topic)
      .filter((topic) => topic.startsWith('runner.task.') && topic !== 'runner.task.requested');
    expect(live.sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThanOrEqual(7);
    expect(isLiveTopic('runner.task.requested')).toBe(false);
    expect(isLiveTopic('audit.change.recorded')).toBe(false);
  });

  it('are shown by scope: tasks:read (or admin) sees the task lifecycle, another scope nothing', () => {
    expect(liveTopicsFor(['tasks:read'])).toEqual(LIVE_TOPICS);
    expect(liveTopicsFor(['admin'])).toEqual(LIVE_TOPICS);
    expect(liveTopicsFor(['prompts:read', 'registry:read'])).toEqual([]);
  });

  it('are named by a topic or a prefix of some', () => {
    expect(topicsMatching('runner.task.succeeded')).toEqual(['runner.task.succeeded']);
    expect(topicsMatching('runner.')).toEqual(LIVE_TOPICS);
    expect(topicsMatching('runner.task.requested')).toEqual([]);
    expect(topicsMatching('registry.')).toEqual([]);
  });
});
