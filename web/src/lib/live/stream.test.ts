import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiveEvent } from './filter.ts';
import { LiveStream, type LiveStatus } from './stream.ts';

const T1 = '00000000-0000-4000-8000-000000000001';
const T2 = '00000000-0000-4000-8000-000000000002';

/** A stand-in EventSource: the test plays the gateway (messages, a dropped connection, an error answer). */
class FakeSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static opened: FakeSource[] = [];
  readonly url: URL;
  readyState = FakeSource.CONNECTING;
  onerror: (() => void) | null = null;
  readonly #listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(url: string) {
    this.url = new URL(url, 'http://dashboard.test');
    FakeSource.opened.push(this);
  }

  addEventListener(name: string, listener: (event: MessageEvent<string>) => void): void {
    this.#listeners.set(name, [...(this.#listeners.get(name) ?? []), listener]);
  }

  close(): void {
    this.readyState = FakeSource.CLOSED;
  }

  /** The gateway sends a message. */
  send(event: string, data: unknown, id?: string): void {
    this.readyState = FakeSource.OPEN;
    const message = { data: JSON.stringify(data), lastEventId: id ?? '' } as MessageEvent<string>;
    for (const listener of this.#listeners.get(event) ?? []) listener(message);
  }

  /** The connection broke: `retrying` as a browser does after a drop, or given up as after an error answer. */
  fail(retrying: boolean): void {
    this.readyState = retrying ? FakeSource.CONNECTING : FakeSource.CLOSED;
    this.onerror?.();
  }

  static last(): FakeSource {
    const source = FakeSource.opened.at(-1);
    if (!source) throw new Error('no stream was opened');
    return source;
  }
}

const queued = (n: number, task = T1) => ({
  id: '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b',
  topic: 'runner.task.queued',
  key: task,
  position: `${n}-1`,
  created_at: '2026-01-01T00:00:00.000Z',
  payload: { task_id: task, group_id: null, correlation: null, priority: n },
});

describe('the tab’s one live-events stream', () => {
  let statuses: LiveStatus[];
  let stream: LiveStream;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSource.opened = [];
    statuses = [];
    stream = new LiveStream({
      EventSource: FakeSource as unknown as typeof EventSource,
      onStatus: (status) => statuses.push(status),
      retryMs: { first: 1_000, max: 8_000 },
    });
  });
  afterEach(() => {
    stream.close();
    vi.useRealTimers();
  });

  it('opens one stream for the union of the subscribers, and gives each only what its filter wants', () => {
    const first: LiveEvent[] = [];
    const second: LiveEvent[] = [];
    stream.subscribe({ task_id: [T1] }, (event) => first.push(event));
    stream.subscribe({ task_id: [T2] }, (event) => second.push(event));
    vi.advanceTimersByTime(50);
    expect(FakeSource.opened).toHaveLength(1);
    const source = FakeSource.last();
    expect(source.url.pathname).toBe('/api/v1/events');
    expect(source.url.searchParams.getAll('task_id')).toEqual([T1, T2]);
    expect(source.url.searchParams.get('deltas')).toBe('none');
    source.send('ready', { position: '5-0', resumed: false }, '5-0');
    source.send('runner.task.queued', queued(6, T1), '6-1');
    source.send('runner.task.queued', queued(7, T2), '7-1');
    expect(first.map((e) => e.event)).toEqual(['ready', 'runner.task.queued']);
    expect(second.map((e) => (e.event === 'runner.task.queued' ? e.data.payload.task_id : e.event))).toEqual(['ready', T2]);
    expect(first[1]).toMatchObject({ event: 'runner.task.queued', id: '6-1' });
    expect(statuses).toEqual(['connecting', 'live']);
  });

  it('reopens with last_event_id when the union changes, and closes when the last subscriber goes', () => {
    const off = stream.subscribe({ task_id: [T1] }, () => {});
    vi.advanceTimersByTime(50);
    FakeSource.last().send('ready', { position: '5-0', resumed: false }, '5-0');
    FakeSource.last().send('runner.task.queued', queued(6), '6-1');
    // A navigation: the old page's subscription goes, the new page's comes, in one reopen.
    off();
    const offNext = stream.subscribe({ topics: ['runner.task.'], deltas: true }, () => {});
    vi.advanceTimersByTime(50);
    expect(FakeSource.opened).toHaveLength(2);
    expect(FakeSource.opened[0]?.readyState).toBe(FakeSource.CLOSED);
    const reopened = FakeSource.last().url.searchParams;
    expect(reopened.get('last_event_id')).toBe('6-1');
    expect(reopened.getAll('topic')).toEqual(['runner.task.']);
    expect(reopened.get('deltas')).toBe('matching');
    // The same union again: the stream stays as it is.
    const same = stream.subscribe({ topics: ['runner.task.'] }, () => {});
    vi.advanceTimersByTime(50);
    expect(FakeSource.opened).toHaveLength(2);
    same();
    offNext();
    vi.advanceTimersByTime(50);
    expect(FakeSource.last().readyState).toBe(FakeSource.CLOSED);
    expect(statuses.at(-1)).toBe('idle');
  });

  it('recovers by itself: the browser’s own reconnect, then after an error answer a reopen with backoff from the last event', () => {
    const seen: string[] = [];
    stream.subscribe({}, (event) => seen.push(event.event));
    vi.advanceTimersByTime(50);
    const source = FakeSource.last();
    source.send('ready', { position: '5-0', resumed: false }, '5-0');
    source.send('runner.task.queued', queued(6), '6-1');
    source.fail(true);
    expect(stream.status).toBe('reconnecting');
    expect(FakeSource.opened).toHaveLength(1); // the browser reconnects this one itself
    source.fail(false); // its reconnect got the proxy's 502 while the gateway restarts: it gave up
    vi.advanceTimersByTime(499);
    expect(FakeSource.opened).toHaveLength(1);
    vi.advanceTimersByTime(501);
    expect(FakeSource.opened).toHaveLength(2);
    FakeSource.last().fail(false); // still down: the next try waits longer
    vi.advanceTimersByTime(999);
    expect(FakeSource.opened).toHaveLength(2);
    vi.advanceTimersByTime(1_001);
    expect(FakeSource.opened).toHaveLength(3);
    const back = FakeSource.last();
    expect(back.url.searchParams.get('last_event_id')).toBe('6-1');
    expect(stream.status).toBe('reconnecting');
    back.send('runner.task.queued', queued(7), '7-1');
    back.send('ready', { position: '7-1', resumed: true });
    expect(stream.status).toBe('live');
    expect(seen).toEqual(['ready', 'runner.task.queued', 'runner.task.queued', 'ready']);
    expect(stream.lastEventId).toBe('7-1');
  });

  it('takes a resync’s position as where to resume, and passes it to everyone', () => {
    const seen: string[] = [];
    stream.subscribe({ task_id: [T2] }, (event) => seen.push(event.event));
    vi.advanceTimersByTime(50);
    FakeSource.last().send('resync', { reason: 'older than the retained events', position: '9-0' }, '9-0');
    expect(seen).toEqual(['resync']);
    expect(stream.lastEventId).toBe('9-0');
  });

  it('keeps giving messages to the other subscribers when one handler throws', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const seen: string[] = [];
    stream.subscribe({}, () => {
      throw new Error('a broken page');
    });
    stream.subscribe({}, (event) => seen.push(event.event));
    vi.advanceTimersByTime(50);
    FakeSource.last().send('ready', { position: '5-0', resumed: false }, '5-0');
    expect(seen).toEqual(['ready']);
    expect(errors).toHaveBeenCalledOnce();
    errors.mockRestore();
  });
});
