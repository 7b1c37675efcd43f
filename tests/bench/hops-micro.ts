// Issue 14, "hops": the CPU one service process spends per request in kit's HTTP layer alone, no
// database: an internal app (kit's createInternalApp: request ids, request log, identity, strict URL and
// body, the contract's zod schema) answering POST /internal/render with a fixed rendering, and GET
// /healthz. The server is a child process whose request log goes to a pipe this process reads line by
// line (as the supervisor and the bench do); its CPU is read with process.cpuUsage() around N requests.
//
//   node tests/bench/hops-micro.ts [requests per kind] [rounds]
import { fork, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { createInterface } from 'node:readline';
import { serve } from '@hono/node-server';
import { internalRender } from '@llmops/kit/contracts/prompt';
import { createInternalApp } from '@llmops/kit/http/app';
import { createIdentitySigner, IDENTITY_HEADER, ON_BEHALF_OF_HEADER } from '@llmops/kit/http/identity';
import { createLogger } from '@llmops/kit/logger';
import { send } from './lib.ts';

const SECRET = 'hops-micro-internal-secret-0123456789abcdef';
const CONCURRENCY = 4;

/** A rendering shaped as the prompt service answers the bench's task (two messages, no problems). */
const RENDERED = {
  ok: true,
  template_id: '0193c4a0-0000-7000-8000-000000000001',
  template_version: 1,
  label: null,
  messages: [
    { role: 'system', content: 'You write headlines for an editorial team. Be brief.' },
    {
      role: 'user',
      content:
        'Write one headline for the post "Post number 1".A short post about how the newsroom plans its week, with notes on deadlines and the morning meeting.',
    },
  ],
  part_versions: [{ part_id: '0193c4a0-0000-7000-8000-000000000002', version: 1 }],
  variables: ['post'],
  declared_variables: [{ name: 'post', type: 'object' }],
  problems: [],
  warnings: [],
  chars: 190,
  token_estimate: 48,
  default_model_id: '0193c4a0-0000-7000-8000-000000000003',
  default_preset_id: null,
};

function server(): void {
  const log = createLogger({ service: 'prompt' });
  const app = createInternalApp({ service: 'prompt', log, internalSecret: SECRET, readiness: {}, routes: [] });
  app.openapi(internalRender, (c) => {
    c.get('spans').mark('handler');
    return c.json(RENDERED as never, 200);
  });
  const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
    process.send?.({ type: 'listening', port: info.port }),
  );
  process.on('message', (message: { type: string }) => {
    if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
    if (message.type === 'stop') listening.close(() => process.exit(0));
  });
}

/** The status of one request (lib.ts `send`). */
async function answered(...args: Parameters<typeof send>): Promise<number> {
  return (await send(...args)).status;
}

async function client(requests: number, rounds: number): Promise<void> {
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ['server'], {
    execArgv: [
      ...process.execArgv,
      ...(process.env.MICRO_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MICRO_PROF}`] : []),
    ],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let lines = 0;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines++;
    JSON.parse(line);
  });
  const ask = <T>(type: string, answer: string) =>
    new Promise<T>((resolve) => {
      const on = (message: { type: string } & T) => {
        if (message.type !== answer) return;
        child.off('message', on);
        resolve(message);
      };
      child.on('message', on);
      if (type) child.send({ type });
    });
  const { port } = await ask<{ port: number }>('', 'listening');
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const signer = createIdentitySigner(SECRET);
  const body = JSON.stringify({
    template_id: RENDERED.template_id,
    latest: true,
    inputs: { post: { title: 'Post number 1', summary: RENDERED.messages[1]?.content } },
  });
  const kinds: Record<string, (n: number) => Promise<number>> = {
    render: async (n) =>
      answered(
        agent,
        `${base}/internal/render`,
        'POST',
        {
          'content-type': 'application/json',
          [IDENTITY_HEADER]: await signer.sign({ kind: 'service', subject: 'runner' }, 'prompt'),
          'x-request-id': `micro-${n}`,
          [ON_BEHALF_OF_HEADER]: 'account:0193c4a0-0000-7000-8000-000000000004',
        },
        body,
      ),
    healthz: () => answered(agent, `${base}/healthz`, 'GET', {}),
  };
  const fire = async (count: number, one: (n: number) => Promise<number>, expected: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) {
          const status = await one(next++);
          if (status !== expected) throw new Error(`answered ${status}`);
        }
      }),
    );
  };
  const cpu = async () => {
    const { usage } = await ask<{ usage: NodeJS.CpuUsage }>('cpu', 'cpu');
    return usage.user + usage.system;
  };
  for (const one of Object.values(kinds)) await fire(2_000, one, 200);
  const results: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, one] of Object.entries(kinds)) {
      const before = await cpu();
      await fire(requests, one, 200);
      (results[name] ??= []).push(((await cpu()) - before) / requests);
    }
  }
  for (const [name, values] of Object.entries(results)) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(
      `${name}: server CPU µs per request, median ${sorted[Math.floor((sorted.length - 1) / 2)]?.toFixed(1)} (rounds: ${values.map((v) => v.toFixed(1)).join(' ')})`,
    );
  }
  console.log(`request-log lines read: ${lines}`);
  child.send({ type: 'stop' });
  agent.destroy();
}

if (process.argv[2] === 'server') server();
else await client(Number(process.argv[2] ?? 5_000), Number(process.argv[3] ?? 5));
