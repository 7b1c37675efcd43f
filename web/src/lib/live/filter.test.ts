import { describe, expect, it } from 'vitest';
import { queryOf, STREAM_LIMITS, unionOf, wants, type LiveEvent } from './filter.ts';

const T1 = '00000000-0000-4000-8000-000000000001';
const T2 = '00000000-0000-4000-8000-000000000002';
const G1 = '00000000-0000-4000-9000-000000000001';

function succeeded(
  task_id: string,
  fields: { group_id?: string | null; correlation?: Record<string, unknown> | null } = {},
): LiveEvent {
  return {
    event: 'runner.task.succeeded',
    id: '10-1',
    data: {
      id: '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b',
      topic: 'runner.task.succeeded',
      key: task_id,
      position: '10-1',
      created_at: '2026-01-01T00:00:00.000Z',
      payload: {
        task_id,
        group_id: fields.group_id ?? null,
        correlation: fields.correlation ?? null,
        model_id: null,
        provider_id: null,
        attempt: 1,
        at: '2026-01-01T00:00:00.000Z',
        output_chars: 2,
        finish_reason: 'stop',
        usage: { input_tokens: 1, output_tokens: 1, cached_input_tokens: 0 },
        cost_usd: '0',
        images: 0,
      },
    },
  };
}

const delta = (task_id: string): LiveEvent => ({ event: 'delta', data: { task_id, attempt: 1, seq: 0, text: 'Hi' } });

describe('the union of what a page subscribes to', () => {
  it('asks for every value of a field when each subscriber names some, for everything when one leaves it out', () => {
    expect(unionOf([{ task_id: [T2] }, { task_id: [T1, T2] }])).toEqual({ task_id: [T1, T2], deltas: false });
    expect(unionOf([{ task_id: [T1] }, { topics: ['runner.task.'] }])).toEqual({ deltas: false });
    expect(unionOf([{ topics: ['runner.task.succeeded'], deltas: true }, { topics: ['runner.task.failed'] }])).toEqual({
      topics: ['runner.task.failed', 'runner.task.succeeded'],
      deltas: true,
    });
  });

  it('keeps a correlation only when every subscriber has the same one', () => {
    expect(unionOf([{ correlation: { post_id: 'p', field: 'a' } }, { correlation: { field: 'a', post_id: 'p' } }])).toEqual({
      correlation: { field: 'a', post_id: 'p' },
      deltas: false,
    });
    expect(unionOf([{ correlation: { post_id: 'p' } }, { correlation: { post_id: 'q' } }])).toEqual({ deltas: false });
    expect(unionOf([{ correlation: { post_id: 'p' } }, {}])).toEqual({ deltas: false });
  });

  it('asks for everything of a field past the gateway’s limit rather than be refused', () => {
    const many = Array.from({ length: STREAM_LIMITS.task_id + 1 }, (_, i) => `t-${i}`);
    expect(unionOf([{ task_id: many.slice(0, 60) }, { task_id: many.slice(60) }]).task_id).toBeUndefined();
  });

  it('gives the same query for the same union, whatever the order, and the resume point as last_event_id', () => {
    const a = queryOf(unionOf([{ task_id: [T1] }, { task_id: [T2], deltas: true }]));
    const b = queryOf(unionOf([{ task_id: [T2], deltas: true }, { task_id: [T1] }]));
    expect(a).toBe(b);
    expect(new URLSearchParams(a).getAll('task_id')).toEqual([T1, T2]);
    expect(new URLSearchParams(a).get('deltas')).toBe('matching');
    const resumed = new URLSearchParams(queryOf(unionOf([{ topics: ['runner.task.'] }]), '12-3'));
    expect(resumed.get('last_event_id')).toBe('12-3');
    expect(resumed.get('deltas')).toBe('none');
    expect(resumed.getAll('topic')).toEqual(['runner.task.']);
  });
});

describe('which subscriber a message goes to', () => {
  it('matches topics as prefixes, ids as lists, and the correlation as a subset', () => {
    expect(wants({ topics: ['runner.task.'] }, succeeded(T1))).toBe(true);
    expect(wants({ topics: ['runner.task.failed'] }, succeeded(T1))).toBe(false);
    expect(wants({ task_id: [T2, T1] }, succeeded(T1))).toBe(true);
    expect(wants({ task_id: [T2] }, succeeded(T1))).toBe(false);
    expect(wants({ group_id: [G1] }, succeeded(T1, { group_id: G1 }))).toBe(true);
    expect(wants({ group_id: [G1] }, succeeded(T1))).toBe(false);
    expect(wants({ correlation: { post_id: 'p' } }, succeeded(T1, { correlation: { post_id: 'p', field: 'x' } }))).toBe(true);
    expect(wants({ correlation: { post_id: 'p' } }, succeeded(T1, { correlation: { post_id: 'q' } }))).toBe(false);
  });

  it('sends deltas only to subscribers that asked for them and select the task', () => {
    expect(wants({ task_id: [T1], deltas: true }, delta(T1))).toBe(true);
    expect(wants({ task_id: [T1] }, delta(T1))).toBe(false);
    expect(wants({ task_id: [T2], deltas: true }, delta(T1))).toBe(false);
    expect(wants({ topics: ['runner.'], deltas: true }, delta(T1))).toBe(true);
  });

  it('sends ready and resync to everyone', () => {
    expect(wants({ task_id: [T2] }, { event: 'ready', data: { position: '1-1', resumed: false } })).toBe(true);
    expect(
      wants({ topics: ['runner.task.failed'] }, { event: 'resync', id: '2-2', data: { reason: 'old', position: '2-2' } }),
    ).toBe(true);
  });
});
