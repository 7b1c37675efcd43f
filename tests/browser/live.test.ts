/// <reference lib="dom" />
/**
 * The dashboard's live layer (web/src/lib/live/) in a real headless Chromium, on the built dashboard's
 * start-up page, through its /api proxy, against a real gateway: task events arrive as they are
 * published; when the gateway restarts (the stream is cut, and the proxy answers 502 until it is back),
 * the indicator says so and the stream recovers by itself, delivering what was published meanwhile,
 * each event once; a changed union of subscriptions reopens the stream from where it was. The layer and
 * its indicator are bundled for the page as they are written (Svelte's compiler, no test page in the
 * product). Screenshots go to test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build, type Plugin } from 'rolldown';
import { compile, compileModule } from 'svelte/compiler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { publishMany } from '@llmops/kit/bus/index';
import { createPool, type Pool } from '@llmops/kit/db';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { queued, taskId } from '../gateway-events-support.ts';
import { DESKTOP, launchBrowser, open, PHONE, SCREENSHOTS, startWeb, type WebServer } from './support.ts';
import { gatewayEnv } from './environment.ts';

const LIVE = fileURLToPath(new URL('../../web/src/lib/live/', import.meta.url));

/** The page's entry: `LiveLayer.start(options)` makes the tab's Live on a LiveStream and mounts the indicator. */
const ENTRY = `
import { mount } from 'svelte';
import { Live } from '${LIVE}live.svelte.ts';
import Indicator from '${LIVE}Indicator.svelte';
import { LiveStream } from '${LIVE}stream.ts';
window.LiveLayer = {
  start(options) {
    const live = new Live((onStatus) => new LiveStream({ ...options, onStatus: (status) => { onStatus(status); options.onStatus?.(status); } }));
    mount(Indicator, { target: document.body, props: { source: live } });
    return live;
  },
};
`;

/** Compiles Svelte components and `.svelte.ts` modules for the browser, as the dashboard's build does. */
const svelte: Plugin = {
  name: 'svelte',
  resolveId: (id) => (id === 'live-entry' ? id : null),
  load: (id) => (id === 'live-entry' ? ENTRY : null),
  transform(code, id) {
    if (id.endsWith('.svelte'))
      return { code: compile(code, { filename: id, generate: 'client', css: 'injected' }).js.code, moduleType: 'js' };
    if (id.endsWith('.svelte.ts')) {
      return { code: compileModule(stripTypeScriptTypes(code), { filename: id, generate: 'client' }).js.code, moduleType: 'js' };
    }
    return null;
  },
};

const db = await useTestDatabase();
const PASSWORD = 'a long enough password';

/** What the page keeps of its stream, for the test to read. */
interface Seen {
  events: { event: string; n?: number; id?: string }[];
  statuses: string[];
  query: string | undefined;
}

describe('the live layer in the browser', () => {
  let gateway: RunningService;
  let gatewayPort: string;
  let web: WebServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let publisher: Pool;

  async function publish(...numbers: number[]): Promise<void> {
    const client = await publisher.connect();
    try {
      await client.query('BEGIN');
      await publishMany(
        client,
        numbers.map((n) => queued(n)),
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }

  const seen = () =>
    page.evaluate(() => {
      const state = (window as unknown as { live: { seen: Seen; stream: { query: string | undefined } } }).live;
      return { ...state.seen, query: state.stream.query };
    });
  const numbers = async () =>
    (await seen()).events
      .filter((e) => e.event === 'runner.task.queued')
      .map((e) => e.n as number)
      .sort((a, b) => a - b);

  function startGateway(port: string): Promise<RunningService> {
    const env = { ...gatewayEnv(db.urlFor('gateway')), PORT: port };
    return runService('gateway', gatewayBuilder(env), { env });
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    publisher = createPool({ connectionString: db.adminUrl, applicationName: 'test-publisher', max: 2 });
    const [bundle] = await Promise.all([
      build({ input: 'live-entry', platform: 'browser', write: false, output: { format: 'iife' }, plugins: [svelte] }),
      createAccountAsOperator(db.adminUrl, { email: 'viewer@example.com', name: 'Vi', role: 'viewer', password: PASSWORD }),
    ]);
    [gateway, browser] = await Promise.all([startGateway('0'), launchBrowser()]);
    gatewayPort = new URL(gateway.url).port;
    web = await startWeb(gateway.url);
    context = await browser.newContext({ viewport: DESKTOP });
    // Scripts the browser is given this way run before the page's own, outside its Content-Security-Policy.
    await context.addInitScript({ content: bundle.output[0].code });
    const signedIn = await context.request.post(`${web.url}/api/v1/login`, {
      data: { email: 'viewer@example.com', password: PASSWORD },
      headers: { origin: web.url },
    });
    expect(signedIn.status()).toBe(200);
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await publisher?.end();
  });

  it('delivers task events as they happen, recovers by itself after the gateway restarts, and misses nothing', async () => {
    await open(page, web.url);
    await page.evaluate(() => {
      type Stream = {
        subscribe(filter: object, handler: (event: { event: string; id?: string; data: unknown }) => void): () => void;
      };
      type Layer = { start(options: object): { stream: Stream } };
      const seen: Seen = { events: [], statuses: [], query: undefined };
      const { stream } = (window as unknown as { LiveLayer: Layer }).LiveLayer.start({
        onStatus: (status: string) => seen.statuses.push(status),
        retryMs: { first: 200, max: 1_000 },
      });
      stream.subscribe({ topics: ['runner.task.queued'] }, (event) => {
        const payload = (event.data as { payload?: { priority?: number } }).payload;
        seen.events.push({
          event: event.event,
          ...(event.id ? { id: event.id } : {}),
          ...(payload ? { n: payload.priority } : {}),
        });
      });
      (window as unknown as { live: object }).live = { stream, seen };
    });
    // The page's own shell shows one too (its stream reconnects as well): either pill says it.
    const indicator = page.getByText('Reconnecting to live updates').first();
    await expect.poll(async () => (await seen()).statuses.at(-1)).toBe('live');
    expect(await indicator.count()).toBe(0);
    const { query } = await seen();
    expect(new URLSearchParams(query).getAll('topic')).toEqual(['runner.task.queued']);

    await publish(1, 2);
    await expect.poll(numbers, { timeout: 10_000 }).toEqual([1, 2]);

    // The gateway goes away: the stream is cut, and until it is back the proxy answers 502, after which
    // the browser gives up on its own reconnects (EventSource does not retry an error answer).
    const streams: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/events')) streams.push(request.url());
    });
    const refused = page.waitForResponse((response) => response.url().includes('/api/v1/events') && response.status() === 502);
    await gateway.stop('test: restart');
    await expect.poll(async () => (await seen()).statuses.at(-1)).toBe('reconnecting');
    await publish(3, 4); // while nobody can hear: kept in the outbox
    await refused;
    // Said quietly, in a corner, while it lasts.
    await expect.poll(() => indicator.isVisible()).toBe(true);
    // It fades in after a second, so a quick reconnect never flashes: the picture is taken once it has.
    await indicator.evaluate((element) => Promise.all(element.getAnimations({ subtree: true }).map((a) => a.finished)));
    await page.screenshot({ path: join(SCREENSHOTS, 'live-reconnecting-desktop.png') });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, 'live-reconnecting-phone.png') });
    await page.setViewportSize(DESKTOP);
    gateway = await startGateway(gatewayPort);
    await expect.poll(numbers, { timeout: 15_000 }).toEqual([1, 2, 3, 4]);
    await expect.poll(async () => (await seen()).statuses.at(-1)).toBe('live');
    // The shell's own stream comes back on its own backoff, a moment later.
    await expect.poll(() => indicator.count(), { timeout: 15_000 }).toBe(0);
    // The layer reopened the stream itself, from the last event it had.
    const [, second] = (await seen()).events.filter((e) => e.event === 'runner.task.queued');
    expect(new URL(streams.at(-1) as string).searchParams.get('last_event_id')).toBe(second?.id);
    await publish(5);
    await expect.poll(numbers, { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5]);

    // A component subscribes to more: the stream reopens with its new filter from the last event, and
    // the first subscriber goes on without a gap or a repeat.
    await page.evaluate((id) => {
      const { stream } = (
        window as unknown as { live: { stream: { subscribe(filter: object, handler: () => void): () => void } } }
      ).live;
      stream.subscribe({ task_id: [id], deltas: true }, () => {});
    }, taskId(99));
    await expect.poll(async () => new URLSearchParams((await seen()).query).get('deltas')).toBe('matching');
    expect(new URLSearchParams((await seen()).query).getAll('topic')).toEqual([]);
    await publish(6);
    await expect.poll(numbers, { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5, 6]);
    const statuses = (await seen()).statuses;
    expect(statuses[0]).toBe('connecting');
    expect(statuses).toContain('reconnecting');
  }, 60_000);
});
