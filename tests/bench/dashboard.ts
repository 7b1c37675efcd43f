// Issue 16's benchmarks (docs/bench.md, "7. The dashboard"): a live delta from its NOTIFY to the screen in
// headless Chromium through the dashboard's live layer, beside a plain Node SSE client reading the same
// stream through the same proxy; and the history page's server time at 100,000 tasks beside 1,000.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Pool } from '@llmops/kit/db';
import { TASK_DELTAS_CHANNEL } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import * as reads from '../../services/runner/src/db/reads.ts';
import {
  CHROMIUM,
  EDITOR,
  loadNote,
  requireWebBuild,
  startSystem,
  waitFinished,
  wallClock,
  type System,
} from './dashboard-rig.ts';
import {
  deferred,
  fmt,
  fmtRate,
  percentile,
  ratioAtMost,
  resultRow,
  sized,
  sleep,
  within,
  type BenchResult,
  type BenchServer,
} from './lib.ts';

export const DASHBOARD_PARTS = ['live', 'history'] as const;
type Part = (typeof DASHBOARD_PARTS)[number];

/**
 * One task's reply streams a word per chunk: each word is one sample of each observer. Sizes shrink in a
 * quick run: fewer words streamed, 10,000 tasks instead of 100,000, fewer samples.
 */
const LIVE = {
  get words() {
    return sized(200, 60);
  },
  chunkDelayMs: 60,
  addedP50Ms: 25,
  addedP99Ms: 50,
};
const HISTORY = {
  get sizes() {
    return sized([1_000, 100_000], [1_000, 10_000]);
  },
  get samples() {
    return sized(20, 8);
  },
  get warmup() {
    return sized(3, 2);
  },
  ratio: 2,
};
const OBSERVER = fileURLToPath(new URL('./dashboard-observer.ts', import.meta.url));

// ---- 7.1 a live delta, NOTIFY → a plain SSE client and → the screen ----

/**
 * An observer of 7.1 in a process of its own (dashboard-observer.ts): the first time it saw each word, on
 * its wall clock. `ready` resolves once it listens; `stop` ends it and answers what it saw.
 */
function observer(args: readonly string[], env: Record<string, string> = {}): Observer {
  const child = spawn(process.execPath, [OBSERVER, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const seen = new Map<string, number>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the observer ${args[0]} exited (${code}) before it listened`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') return resolve();
      const { word, at } = JSON.parse(line) as { word: string; at: number };
      seen.set(word, at);
    });
  });
  return {
    ready: within(ready, 30_000, `the observer ${args[0]} to listen`),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      return seen;
    },
  };
}

interface Observer {
  ready: Promise<void>;
  stop(): Promise<Map<string, number>>;
}

/**
 * In the page, before any of its scripts: a MutationObserver on the whole document notes when each word
 * first appears in the task's output (`pre[data-output]`), and the next animation frame after it (the
 * frame that paints it), on the page's wall clock.
 */
function observeOutput(): void {
  const dom: Record<string, number> = {};
  const frame: Record<string, number> = {};
  (window as unknown as { __benchSeen: unknown }).__benchSeen = { dom, frame };
  const now = () => performance.timeOrigin + performance.now();
  new MutationObserver(() => {
    const at = now();
    const output = document.querySelector('pre[data-output]');
    if (!output) return;
    const fresh: string[] = [];
    for (const match of (output.textContent ?? '').matchAll(/\bw\d{3}\b/g)) {
      if (dom[match[0]] === undefined) {
        dom[match[0]] = at;
        fresh.push(match[0]);
      }
    }
    if (fresh.length > 0)
      requestAnimationFrame(() => {
        const painted = now();
        for (const word of fresh) frame[word] = painted;
      });
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

/** The page's clock minus the bench's: the sample with the shortest round trip, its midpoint. */
async function clockOffset(page: Page): Promise<{ offset: number; roundTrip: number }> {
  let best = { offset: 0, roundTrip: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 15; i++) {
    const before = wallClock();
    const theirs = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = wallClock();
    if (after - before < best.roundTrip) best = { offset: theirs - (before + after) / 2, roundTrip: after - before };
  }
  return best;
}

async function signedIn(browser: Browser, webUrl: string): Promise<{ context: BrowserContext; cookie: string }> {
  const context = await browser.newContext();
  const response = await context.request.post(`${webUrl}/api/v1/login`, {
    data: { email: EDITOR.email, password: EDITOR.password },
    headers: { origin: webUrl },
  });
  if (response.status() !== 200) throw new Error(`signing in failed: ${response.status()} ${await response.text()}`);
  const cookie = (await context.cookies()).map(({ name, value }) => `${name}=${value}`).join('; ');
  return { context, cookie };
}

async function liveDelta(system: System, browser: Browser): Promise<BenchResult> {
  const webUrl = system.webUrl as string;
  const { context, cookie } = await signedIn(browser, webUrl);
  const page = await context.newPage();
  await page.addInitScript(observeOutput);
  let eventsUrl: string | undefined;
  page.on('request', (request) => {
    if (request.url().includes('/api/v1/events')) eventsUrl = request.url();
  });
  // The provider holds its first byte until the page and the observers are listening and the clocks compared.
  const watching = deferred<void>();
  const fault = system.emulator.fault({
    protocol: 'openai',
    firstByteAfter: watching.promise,
    chunkDelayMs: LIVE.chunkDelayMs,
  });
  const observers: Observer[] = [];
  try {
    const text = Array.from({ length: LIVE.words }, (_, i) => `w${String(i).padStart(3, '0')}`).join(' ');
    const id = await system.createTask(text, { bench: 'dashboard-live' });
    const listener = observer(['listen', system.db.adminUrl, `llmops_eph:${TASK_DELTAS_CHANNEL}`, id]);
    observers.push(listener);
    await page.goto(`${webUrl}/llm/tasks/${id}`);
    await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
    for (let i = 0; i < 50 && !eventsUrl; i++) await sleep(100);
    if (!eventsUrl) throw new Error('the task page opened no /api/v1/events stream');
    const client = observer(['sse', eventsUrl, id], { BENCH_SSE_COOKIE: cookie });
    observers.push(client);
    await Promise.all([listener.ready, client.ready]);
    const { offset, roundTrip } = await clockOffset(page);
    watching.resolve();
    await waitFinished(system.admin, [id], 120_000);
    await sleep(500);
    const notify = await listener.stop();
    const sse = await client.stop();
    const seen = await within(
      page.evaluate(
        () => (window as unknown as { __benchSeen: { dom: Record<string, number>; frame: Record<string, number> } }).__benchSeen,
      ),
      5_000,
      'the page to hand over what it saw',
    );

    const toSse: number[] = [];
    const toDom: number[] = [];
    const toFrame: number[] = [];
    for (const [word, at] of notify) {
      const client = sse.get(word);
      const dom = seen.dom[word];
      const frame = seen.frame[word];
      if (client === undefined || dom === undefined) continue;
      toSse.push(client - at);
      toDom.push(dom - offset - at);
      if (frame !== undefined) toFrame.push(frame - offset - at);
    }
    if (toSse.length < LIVE.words / 2)
      throw new Error(`only ${toSse.length} of ${LIVE.words} words were seen by every observer: the stream started too early`);
    const row = (what: string, samples: number[]) => [
      what,
      fmt(percentile(samples, 50), 1),
      fmt(percentile(samples, 90), 1),
      fmt(percentile(samples, 99), 1),
      fmt(Math.max(...samples), 1),
      String(samples.length),
    ];
    const added50 = percentile(toFrame, 50) - percentile(toSse, 50);
    const added99 = percentile(toFrame, 99) - percentile(toSse, 99);
    return {
      title: '7.1 Dashboard: a live delta from its NOTIFY to the screen, beside a plain SSE client',
      method: [
        `registry, prompt, runner and gateway as processes, the built dashboard (node web/build), headless Chromium; one task`,
        `whose reply the emulator streams one word per chunk, ${LIVE.chunkDelayMs} ms apart (${LIVE.words} words), its first byte held`,
        `until the task page, its stream and both observers are up. Per word, from the bench's LISTEN on the deltas channel (the`,
        'NOTIFY the gateway hears) to: a plain Node SSE client on the same /api/v1/events URL the page opened, through the same',
        "dashboard proxy (the anchor); the word in the page's DOM (a MutationObserver on the task's output); the next animation",
        "frame after it. The LISTEN and the plain client each a process of its own (dashboard-observer.ts), so the bench's",
        "traffic with Chromium never delays them; one wall clock (the page's offset measured over 15 round trips, the",
        'shortest kept). Words all three saw.',
      ],
      table: [
        ['NOTIFY →', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'words'],
        row('plain SSE client', toSse),
        row('page DOM', toDom),
        row('next frame (screen)', toFrame),
      ],
      notes: [
        `the dashboard adds ${fmt(added50, 1)} ms at p50 and ${fmt(added99, 1)} ms at p99 (screen − plain client); ` +
          `screen ÷ plain client at p50: ${fmt(percentile(toFrame, 50) / percentile(toSse, 50), 2)}×`,
        `page clock offset ${fmt(offset, 2)} ms, measured with a ${fmt(roundTrip, 2)} ms round trip; the fastest word: ` +
          `plain client ${fmt(Math.min(...toSse), 1)} ms, screen ${fmt(Math.min(...toFrame), 1)} ms`,
        loadNote(),
      ],
      figures: [
        resultRow(
          '7.1 NOTIFY → a delta on screen p50',
          percentile(toFrame, 50),
          'ms',
          { name: 'plain SSE client', value: percentile(toSse, 50) },
          `≤ anchor + ${LIVE.addedP50Ms} ms`,
          added50 <= LIVE.addedP50Ms,
        ),
        resultRow(
          '7.1 NOTIFY → a delta on screen p99',
          percentile(toFrame, 99),
          'ms',
          { name: 'plain SSE client', value: percentile(toSse, 99) },
          `≤ anchor + ${LIVE.addedP99Ms} ms`,
          added99 <= LIVE.addedP99Ms,
        ),
      ],
    };
  } finally {
    watching.resolve();
    fault.remove();
    for (const one of observers) await one.stop();
    await context.close();
  }
}

// ---- 7.2 the history page at 1,000 and 100,000 tasks ----

const VIEWS = [
  { name: 'newest first', query: '', filter: {} },
  { name: 'status failed (1 %)', query: 'status=failed', filter: { statuses: ['failed' as const] } },
  { name: 'search "sourdough" (1 %)', query: 'q=sourdough', filter: { text: 'sourdough' } },
];

/**
 * Finished copies (SQL) of a real task created through the API, ids and times in creation order, to reach
 * `total`: every hundredth failed, every hundredth (another) with "sourdough" in its output.
 */
async function copyFinished(admin: Pool, seedId: string, from: number, total: number): Promise<void> {
  for (let start = from; start < total; start += 5_000) {
    const count = Math.min(5_000, total - start);
    const ids = Array.from({ length: count }, () => uuidv7());
    await admin.query(
      `INSERT INTO runner.tasks (id, requester, source, status, kind, priority, correlation, template_id, template_version,
         template_label, part_versions, preset_id, inputs, snapshot, model_id, provider_id, attempts, model_attempts,
         output_text, finish_reason, usage, cost_usd, error, queue_wait_ms, provider_ms, overhead_ms, time_to_first_token_ms,
         created_at, started_at, finished_at, updated_at)
       SELECT c.id, t.requester, t.source, CASE WHEN c.n % 100 = 0 THEN 'failed' ELSE 'succeeded' END, t.kind, t.priority,
         jsonb_build_object('bench', 'history', 'n', c.n), t.template_id, t.template_version, t.template_label,
         t.part_versions, t.preset_id, t.inputs, t.snapshot, t.model_id, t.provider_id, 1, 1,
         CASE WHEN c.n % 100 = 0 THEN NULL
              ELSE t.output_text || CASE WHEN c.n % 100 = 50 THEN ' sourdough ' ELSE ' rye ' END || c.n END,
         CASE WHEN c.n % 100 = 0 THEN NULL ELSE t.finish_reason END, t.usage, t.cost_usd,
         CASE WHEN c.n % 100 = 0 THEN '{"code": "bench", "message": "a failure made by the bench"}'::jsonb END,
         t.queue_wait_ms, t.provider_ms, t.overhead_ms, t.time_to_first_token_ms,
         now() - make_interval(secs => ($4::int - c.n) * 10), now() - make_interval(secs => ($4::int - c.n) * 10 - 0.1),
         now() - make_interval(secs => ($4::int - c.n) * 10 - 2), now()
       FROM runner.tasks t, unnest($2::uuid[]) WITH ORDINALITY AS u(id, i), LATERAL (SELECT u.id, $3::int + u.i::int AS n) c
       WHERE t.id = $1`,
      [seedId, ids, start, total],
    );
  }
  await admin.query('VACUUM ANALYZE runner.tasks');
}

/** A node's shape: its type (and index), then its children (subplans left out). */
function planShape(node: Record<string, unknown>): string {
  const name = `${node['Node Type'] as string}${node['Index Name'] ? ` (${node['Index Name'] as string})` : ''}`;
  const children = ((node.Plans as Array<Record<string, unknown>> | undefined) ?? [])
    .filter((child) => child['Parent Relationship'] !== 'SubPlan' && child['Parent Relationship'] !== 'InitPlan')
    .map(planShape);
  return children.length === 0 ? name : `${name} > ${children.length === 1 ? children[0] : `[${children.join(', ')}]`}`;
}

/** The runner's own list statement (db/reads.ts `list`, as GET /api/v1/tasks sends it) under EXPLAIN ANALYZE. */
async function explainList(admin: Pool, filter: Partial<reads.TaskFilter>): Promise<{ shape: string; ms: number }> {
  let explained: { shape: string; ms: number } | undefined;
  const explaining = {
    query: async (text: string, values: unknown[]) => {
      const { rows } = await admin.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown>; 'Execution Time': number }> }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
        values,
      );
      const top = rows[0]?.['QUERY PLAN'][0];
      explained = { shape: top ? planShape(top.Plan) : '?', ms: top?.['Execution Time'] ?? Number.NaN };
      return { rows: [] };
    },
  };
  await reads.list(explaining as unknown as Pool, { includeOutput: false, limit: 51, ...filter });
  if (!explained) throw new Error('the list statement was not sent');
  return explained;
}

async function timed(samples: number, warmup: number, call: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const started = performance.now();
    await call();
    if (i >= warmup) times.push(performance.now() - started);
  }
  return times;
}

async function history(system: System, browser: Browser): Promise<BenchResult> {
  const webUrl = system.webUrl as string;
  const { context, cookie } = await signedIn(browser, webUrl);
  await context.close();
  const seed = await system.createTask('A note on the bakery week: the rye starter, the morning bake and the market stall.');
  await waitFinished(system.admin, [seed], 60_000);
  const rows: string[][] = [];
  const shapes: string[] = [];
  const pageP50 = new Map<string, number[]>();
  let made = 1;
  for (const size of HISTORY.sizes) {
    await copyFinished(system.admin, seed, made, size);
    made = size;
    for (const view of VIEWS) {
      const page = await timed(HISTORY.samples, HISTORY.warmup, async () => {
        const response = await fetch(`${webUrl}/llm/tasks${view.query ? `?${view.query}` : ''}`, { headers: { cookie } });
        const html = await response.text();
        if (response.status !== 200 || !html.includes('/llm/tasks/'))
          throw new Error(`GET /llm/tasks?${view.query}: ${response.status}, no task listed`);
      });
      const api = await timed(HISTORY.samples, HISTORY.warmup, async () => {
        const response = await fetch(
          `${system.gatewayUrl}/api/v1/tasks?limit=50&include_output=false${view.query ? `&${view.query}` : ''}`,
          { headers: { authorization: `Bearer ${system.token}` } },
        );
        const body = (await response.json()) as { items?: unknown[] };
        if (response.status !== 200 || (body.items?.length ?? 0) === 0)
          throw new Error(`GET /api/v1/tasks?${view.query}: ${response.status}, ${body.items?.length ?? 0} items`);
      });
      const plan = await explainList(system.admin, view.filter);
      rows.push([
        view.name,
        fmtRate(size),
        fmt(percentile(page, 50), 1),
        fmt(percentile(page, 99), 1),
        fmt(percentile(api, 50), 1),
        fmt(plan.ms, 2),
      ]);
      shapes.push(`${view.name}, ${fmtRate(size)} tasks: ${plan.shape}`);
      pageP50.set(view.name, [...(pageP50.get(view.name) ?? []), percentile(page, 50)]);
    }
  }
  const [small, large] = HISTORY.sizes.map(fmtRate);
  return {
    title: `7.2 Dashboard: the history page (/llm/tasks) at ${large} tasks beside ${small}`,
    method: [
      'Finished copies (SQL) of a real task created through the API, in creation order, ten seconds apart: every hundredth',
      'failed, every hundredth other one with "sourdough" in its output; VACUUM ANALYZE after each insert. Per view, the page',
      `as the dashboard's server renders it for a signed-in editor (GET /llm/tasks, its whole round trip from the bench: the`,
      `web server, the gateway, the runner, PostgreSQL) and the list call alone (GET /api/v1/tasks?limit=50 with a token),`,
      `${HISTORY.samples} samples after ${HISTORY.warmup} warm-up ones each; the runner's list statement (db/reads.ts) under`,
      'EXPLAIN (ANALYZE, FORMAT JSON): its execution time, and its plan shape below.',
    ],
    table: [['view', 'tasks', 'page p50 ms', 'page p99 ms', 'API p50 ms', 'statement ms'], ...rows],
    notes: [...shapes, loadNote()],
    figures: VIEWS.map((view) => {
      const [first = Number.NaN, last = Number.NaN] = pageP50.get(view.name) ?? [];
      return ratioAtMost(
        `7.2 history page p50 at ${large} tasks, ${view.name}`,
        last,
        { name: `at ${small} tasks`, value: first },
        HISTORY.ratio,
        'ms',
      );
    }),
  };
}

// ---- the part's entry ----

export async function dashboardBench(
  server: BenchServer,
  report: (result: BenchResult) => void,
  parts: readonly string[] = DASHBOARD_PARTS,
): Promise<void> {
  requireWebBuild();
  const chosen = DASHBOARD_PARTS.filter((part) => parts.includes(part));
  const run: Record<Part, (system: System, browser: Browser) => Promise<BenchResult>> = { live: liveDelta, history };
  // One system and one Chromium for both parts, started once (each start costs seconds on 2 cores). The live
  // part runs first, so the history's copied tasks never share its database; the history part's lists then hold
  // the live part's one task beside their 1,000 / 100,000 (0.1 % more at the smaller size).
  let started = performance.now();
  const system = await startSystem(server, { services: ['registry', 'prompt', 'runner', 'gateway'], web: true });
  try {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-sync',
      ],
    });
    try {
      for (const [i, part] of chosen.entries()) {
        const result = await run[part](system, browser);
        const startUp = i === 0 ? ', the start-up of the system and Chromium included' : '';
        result.notes.push(`the part took ${fmt((performance.now() - started) / 1000, 0)} s${startUp}`);
        report(result);
        started = performance.now();
      }
    } finally {
      await browser.close();
    }
  } finally {
    await system.stop();
  }
}
