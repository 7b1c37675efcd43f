import { afterEach, describe, expect, it, vi } from 'vitest';
import { lineFormatter, Reminder } from './console.ts';

const ESC = '\x1b';
const plain = (text: string) => text.replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');

const request = JSON.stringify({
  level: 'info',
  time: '2026-12-07T04:50:01.123Z',
  service: 'runner',
  pid: 4242,
  reqId: 'req-7',
  taskId: 'task-9',
  attempt: 2,
  msg: 'request',
  method: 'POST',
  status: 201,
});
const failure = JSON.stringify({
  level: 'error',
  time: '2026-12-07T04:50:02.000Z',
  service: 'runner',
  pid: 4242,
  msg: 'recording an attempt failed',
  err: { type: 'Error', message: 'connection lost', stack: 'Error: connection lost\n    at finish (endings.ts:1:1)' },
});

describe('npm start’s console at a terminal', () => {
  const format = lineFormatter({ tty: true });

  it('renders a JSON line as time, level, the part, the message and then the ids, in colour', () => {
    const line = format('runner', request);
    expect(line).toContain(`${ESC}[`);
    const text = plain(line);
    const time = new Date('2026-12-07T04:50:01.123Z');
    const hh = String(time.getHours()).padStart(2, '0');
    expect(text).toMatch(new RegExp(`^runner +│ \\[${hh}:50:01\\.123\\] INFO: request reqId=req-7 taskId=task-9 attempt=2 `));
    expect(text).toContain('"method":"POST"');
    expect(text).not.toContain('4242');
  });

  it('keeps the part’s name in front of every line of an error’s stack', () => {
    const lines = plain(format('runner', failure)).split('\n');
    expect(lines[0]).toMatch(/ERROR: recording an attempt failed/);
    expect(lines.some((line) => line.includes('at finish (endings.ts:1:1)'))).toBe(true);
    for (const line of lines) expect(line).toMatch(/^runner +│ /);
  });

  it('shows a line that is not JSON as it is, after the part', () => {
    expect(plain(format('postgres', 'LOG:  database system is ready'))).toBe('postgres  │ LOG:  database system is ready');
  });
});

describe('npm start’s console elsewhere (a file, a pipe)', () => {
  const format = lineFormatter({ tty: false });

  it('passes JSON lines through unchanged and names the part of any other line', () => {
    expect(format('runner', request)).toBe(request);
    expect(format('runner', failure)).toBe(failure);
    expect(format('postgres', 'LOG:  ready')).toBe('postgres | LOG:  ready');
  });
});

describe('the reminder of the URLs and the setup link', () => {
  afterEach(() => vi.useRealTimers());

  it('is printed again once the logs have been quiet, not while they flow, and not after stop', async () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const reminder = new Reminder(
      (text) => written.push(text),
      async () => ['dashboard http://127.0.0.1:7400', 'setup http://127.0.0.1:7400/setup?code=x'],
      1_000,
    );
    reminder.printed();
    await vi.advanceTimersByTimeAsync(600);
    reminder.printed();
    await vi.advanceTimersByTimeAsync(600);
    expect(written).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(written).toHaveLength(1);
    expect(plain(written[0] as string)).toBe('│ dashboard http://127.0.0.1:7400\n│ setup http://127.0.0.1:7400/setup?code=x\n');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(written).toHaveLength(1);
    reminder.printed();
    reminder.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(written).toHaveLength(1);
  });
});
