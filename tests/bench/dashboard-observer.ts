// One observer of benchmark 7.1 as a process of its own, so that the bench process's own work (Playwright's
// traffic with Chromium) never delays its clock: `listen <database url> <channel> <task id>` hears the deltas'
// NOTIFYs; `sse <events url> <task id>` is a plain SSE client (the session cookie in BENCH_SSE_COOKIE). Each prints one JSON line per word
// it saw first, `{"word": "w012", "at": <wall clock ms>}`, and `ready` once it listens; it ends on SIGTERM.
import pg from 'pg';

const WORD = /\bw\d{3}\b/g;
const seen = new Set<string>();
const now = () => performance.timeOrigin + performance.now();

function saw(text: string, at: number): void {
  for (const [word] of text.matchAll(WORD)) {
    if (seen.has(word)) continue;
    seen.add(word);
    process.stdout.write(`${JSON.stringify({ word, at })}\n`);
  }
}

async function listen(url: string, channel: string, taskId: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-delta-listener' });
  client.on('notification', (message) => {
    const at = now();
    if (message.channel !== channel) return;
    const items = (JSON.parse(message.payload ?? '{}') as { items?: Array<{ task_id: string; text: string }> }).items ?? [];
    for (const item of items) if (item.task_id === taskId) saw(item.text, at);
  });
  await client.connect();
  await client.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => void client.end().finally(() => process.exit(0)));
}

async function sse(url: string, taskId: string): Promise<void> {
  const cookie = process.env.BENCH_SSE_COOKIE ?? '';
  const response = await fetch(url, { headers: { cookie, accept: 'text/event-stream' } });
  if (response.status !== 200 || !response.body) throw new Error(`GET ${url}: ${response.status}`);
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => process.exit(0));
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    const at = now();
    buffer += decoder.decode(chunk, { stream: true });
    const frames = buffer.split('\n\n');
    buffer = frames.pop() ?? '';
    for (const frame of frames) {
      const lines = frame.split('\n');
      if (!lines.includes('event: delta')) continue;
      const data = lines
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      const delta = JSON.parse(data) as { task_id: string; text: string };
      if (delta.task_id === taskId) saw(delta.text, at);
    }
  }
}

const [mode, target = '', second = '', third = ''] = process.argv.slice(2);
const run = mode === 'listen' ? listen(target, second, third) : mode === 'sse' ? sse(target, second) : undefined;
if (!run) {
  console.error('usage: dashboard-observer.ts listen <database url> <channel> <task id> | sse <events url> <task id>');
  process.exit(2);
}
run.catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
