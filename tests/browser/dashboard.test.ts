/// <reference lib="dom" />
/**
 * The dashboard in a real headless Chromium against the real gateway, registry, prompt service and runner
 * on a real (throwaway) database, with the provider emulator's models: one started system and one
 * Chromium for the file, a new context per flow, in the order an installation grows. The shell on an empty
 * installation (readiness, focus, theme, 404, the API reference) and the /api proxy (with small upstreams
 * of the test's own where the gateway has nothing to show: an event stream, echoed headers, a connection
 * that expires); then settings and the first-run overview (honest empty states, a provider added through
 * the UI, tested, a model imported and priced, accounts, your own password, tokens, a viewer, shortcuts);
 * then the registry and admin pages on more models registered through the API (a preset through its
 * editor, money, sorting, the audit log by who and when, a real dead letter); last, the gateway stopped
 * (an honest error state, a 503 page rather than a sign-out) and started again: the live layer
 * (web/src/lib/live/, bundled for a page as it is written) and the overview's live updates recover by
 * themselves, missing nothing. The built web server (`node web/build/index.js`) is started as the supervisor starts
 * it. axe runs on every page shown (no serious or critical violations); screenshots go to
 * test-results/screenshots/ (desktop and phone) for a person to look at.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build, type Plugin } from 'rolldown';
import { compile, compileModule } from 'svelte/compiler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { publishMany } from '@llmops/kit/bus/index';
import { createPool, type Pool } from '@llmops/kit/db';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { startExpiringServer, type ExpiringServer } from '@llmops/kit/testing/expiring-server';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { queued, taskId } from '../gateway-events-support.ts';
import {
  capture,
  DESKTOP,
  expectAccessible,
  expectPageHeaders,
  launchBrowser,
  open,
  PHONE,
  reload,
  SCREENSHOTS,
  screenshots,
  sessions,
  signIn,
  startWeb,
  watchErrors,
  type WebServer,
} from './support.ts';
import { gatewayEnv, WEB_PROXY_SECRET } from './environment.ts';

/** A stand-in upstream: an event stream that sends its second event only when told to, and an echo. */
function startUpstream(): Promise<{ url: string; releaseStream: () => void; server: Server }> {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = createServer((req, res) => {
    if (req.url === '/api/v1/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('id: 1\ndata: first\n\n');
      void released.then(() => res.end('id: 2\ndata: second\n\n'));
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      res.setHeader('set-cookie', ['session=abc; Path=/; HttpOnly; SameSite=Lax', 'theme=x; Path=/']);
      res.setHeader('connection', 'keep-alive, x-hop');
      res.setHeader('x-hop', 'must not pass');
      res.setHeader('x-upstream', 'passes');
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${port}`, releaseStream: () => release(), server });
    }),
  );
}

/** One screenshot at the page's own size (the flows that take both widths use `screenshots`). */
async function screenshot(page: Page, name: string): Promise<void> {
  await capture(page, join(SCREENSHOTS, `${name}.png`));
}

const LIVE = fileURLToPath(new URL('../../web/src/lib/live/', import.meta.url));

/** The live layer's page entry: `LiveLayer.start(options)` makes the tab's Live on a LiveStream and mounts the indicator. */
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
const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', role: 'admin' as const, password: PASSWORD };
const VIEWER = { email: 'vic@example.com', name: 'Vic Viewer', role: 'viewer' as const, password: PASSWORD };
const EDITOR = { email: 'eddie@example.com', name: 'Eddie Editor', role: 'editor' as const, password: PASSWORD };
/** Changes their own password, on two sessions of their own (not a shared one). */
const PAT = { email: 'pat@example.com', name: 'Pat Editor', role: 'editor' as const, password: PASSWORD };
/** The accounts made by the operator before the first flow (each one an `account.created` in the audit log). */
const ACCOUNTS = [ADMIN, VIEWER, EDITOR, PAT];
/** A refusal the flow provokes on purpose shows in the network log as a 4xx. */
const EXPECTED_4XX = /status of 4\d\d/;

interface Model {
  id: string;
  provider_model_id: string;
}

describe('the dashboard', () => {
  let stack: Stack;
  let gateway: RunningService;
  let gatewayPort = '0';
  let web: WebServer;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let webOnUpstream: WebServer;
  let expiring: ExpiringServer;
  let webOnExpiring: WebServer;
  let browser: Browser;
  let emulator: Emulator;
  let session: ReturnType<typeof sessions>;
  let admin: Pool;

  function startGateway(port: string): Promise<RunningService> {
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: stack.secret,
      PORT: port,
      ...Object.fromEntries(Object.entries(stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    return runService('gateway', gatewayBuilder(env), { env });
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [stack, browser, emulator, upstream, expiring] = await Promise.all([
      startStack({ db, services: ['registry', 'prompt', 'runner'] }),
      launchBrowser(),
      startEmulator(),
      startUpstream(),
      startExpiringServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ answered: `${req.method} ${req.url}` }));
      }),
    ]);
    admin = createPool({ connectionString: db.adminUrl, applicationName: 'test-admin', max: 2 });
    gateway = await startGateway('0');
    gatewayPort = new URL(gateway.url).port;
    [web, webOnUpstream, webOnExpiring] = await Promise.all([
      startWeb(gateway.url),
      startWeb(upstream.url),
      startWeb(expiring.url),
      ...ACCOUNTS.map((account) => createAccountAsOperator(db.adminUrl, account)),
    ]);
    session = sessions(browser, web.url);
    // Each shared account signs in once, side by side (a password hash each), before the first flow needs it.
    await Promise.all([ADMIN, VIEWER, EDITOR].map(session));
  });

  afterAll(async () => {
    upstream?.releaseStream();
    await Promise.all([browser?.close(), web?.stop(), webOnUpstream?.stop(), webOnExpiring?.stop()]);
    await gateway?.stop();
    await Promise.all([
      stack?.stop(),
      emulator?.stop(),
      admin?.end(),
      new Promise((resolve) => upstream?.server.close(resolve)),
      expiring?.close(),
    ]);
  });

  /**
   * A new context per flow, signed in as `who` (with one session per account, made on first use). With
   * `stepTimeout`, a control that never shows fails the step that waits for it, by name, well within the
   * test's time.
   */
  async function as(
    who: { email: string; password: string },
    stepTimeout?: number,
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: await session(who) });
    if (stepTimeout) context.setDefaultTimeout(stepTimeout);
    return { context, page: await context.newPage() };
  }

  /** A page in a new context of its own, signed in as the admin. */
  async function signedInPage(viewport = DESKTOP): Promise<Page> {
    const context = await browser.newContext({ viewport, storageState: await session(ADMIN) });
    return context.newPage();
  }

  describe('the shell and the /api proxy, on an empty installation', () => {
    it("shows the gateway's readiness checks on the overview, with no console errors or CSP violations", async () => {
      const page = await signedInPage();
      const errors = await watchErrors(page);
      const response = await open(page, web.url);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('Overview · LLM Ops');
      // Its Content-Security-Policy admits SvelteKit's start-up script by this response's nonce, a new one each time.
      const nonce = await expectPageHeaders(response);
      expect(await response?.text()).toContain(`nonce="${nonce.slice("'nonce-".length, -1)}"`);
      expect(await expectPageHeaders(await page.request.get(web.url))).not.toBe(nonce);

      const status = page.getByRole('region', { name: 'System status' });
      await expect.poll(() => status.locator('.head').textContent()).toContain('Ready');
      const database = status.locator('li[data-check="database"]');
      expect(await database.textContent()).toContain('OK');
      expect(await status.locator('li[data-check="schema"]').textContent()).toContain('OK');

      // The first-run guide, from real data: nothing is set up yet; each step leads to where it is done.
      const start = page.getByRole('region', { name: 'Get started' });
      expect(await start.textContent()).toContain('0 of 4 done');
      expect(await start.getByRole('link', { name: 'Add a provider' }).getAttribute('href')).toBe('/llm/providers/new');
      expect(await start.getByRole('link', { name: 'Make a template' }).getAttribute('href')).toBe('/llm/templates/new');

      // "Check now" asks the server again (invalidate), without a page load.
      const reloaded = page.waitForResponse((r) => r.url().includes('__data.json'));
      await page.getByRole('button', { name: 'Check now' }).click();
      expect((await reloaded).status()).toBe(200);

      await screenshot(page, 'overview-desktop');
      await page.setViewportSize(PHONE);
      await screenshot(page, 'overview-phone');

      // Every control is a comfortable touch target on a phone.
      const small = await page.$$eval('a:not(.skip), button', (elements) =>
        elements
          .map((element) => ({ text: element.textContent?.trim(), height: element.getBoundingClientRect().height }))
          // Elements not shown at this width (the keyboard shortcuts' button on a phone) have no height.
          .filter((target) => target.height > 0 && target.height < 44),
      );
      expect(small).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });

    it('shows a visible focus ring on every control reached with the keyboard', async () => {
      const page = await signedInPage();
      await open(page, web.url);
      const seen: string[] = [];
      for (let step = 0; step < 24; step++) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const element = document.activeElement as HTMLElement | null;
          if (!element || element === document.body) return null;
          const style = getComputedStyle(element);
          return {
            label: element.textContent?.trim() ?? element.tagName,
            visible: element.matches(':focus-visible'),
            outline: style.outlineStyle,
            width: parseFloat(style.outlineWidth),
          };
        });
        if (!focused) continue;
        seen.push(focused.label);
        expect(focused, focused.label).toMatchObject({ visible: true, outline: 'solid' });
        expect(focused.width, focused.label).toBeGreaterThanOrEqual(2);
        if (focused.label === 'Check now') {
          await screenshot(page, 'focus-desktop');
          break;
        }
      }
      expect(seen[0]).toBe('Skip to content');
      expect(seen).toEqual(expect.arrayContaining(['Overview', 'Settings', 'API reference', 'Keyboard shortcuts', 'Check now']));
      await page.close();
    });

    it('remembers the light theme and renders it from the server', async () => {
      const page = await signedInPage();
      await open(page, web.url);
      await page.getByRole('button', { name: 'Switch to the light theme' }).click();
      await expect.poll(() => page.locator('html').getAttribute('data-theme')).toBe('light');
      await reload(page);
      expect(await page.locator('html').getAttribute('data-theme')).toBe('light');
      // AA contrast holds in the light theme too.
      await expectAccessible(page, 'the overview in the light theme');
      await screenshot(page, 'overview-light-desktop');
      await page.close();
    });

    it('answers an unknown address with the 404 page in the same style, under the same policy', async () => {
      const page = await browser.newPage({ viewport: PHONE });
      const errors = await watchErrors(page, /status of 404/);
      const response = await open(page, `${web.url}/no/such/page`);
      expect(response?.status()).toBe(404);
      await expectPageHeaders(response);
      expect(await page.title()).toBe('Page not found · LLM Ops');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found');
      expect(await page.getByRole('link', { name: 'Go to the overview' }).getAttribute('href')).toBe('/');
      await screenshot(page, 'not-found-phone');
      expect(errors).toEqual([]);
      await page.close();
    });

    it('proxies /api to the gateway: the OpenAPI document and the API reference through the web origin', async () => {
      const response = await fetch(`${web.url}/api/v1/openapi.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
      expect(document.openapi).toBe('3.1.0');
      expect(Object.keys(document.paths)).toContain('/readyz');

      const page = await signedInPage();
      await open(page, web.url);
      const failed: string[] = [];
      page.on('response', (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API reference' }).click();
      await page.waitForURL(`${web.url}/api/v1/docs`);
      expect(await page.title()).toBe('LLM Ops API reference');
      // It looks like the dashboard (dark, no explore bar), leads back to it, and asks for nothing that is not there.
      await page.locator('.swagger-ui .info').waitFor();
      expect(failed).toEqual([]);
      expect(await page.evaluate(() => getComputedStyle(window.document.body).backgroundColor)).toBe('rgb(24, 28, 42)');
      expect(await page.locator('.swagger-ui .topbar').count()).toBe(0);
      expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/api/v1/docs/icon.svg');
      expect((await page.request.get(`${web.url}/api/v1/docs/icon.svg`)).headers()['content-type']).toBe('image/svg+xml');
      // Tags start closed; an operation opens with its references resolved (an account's role inside the session).
      await page.locator('.opblock-tag', { hasText: 'Accounts' }).first().click();
      await page.locator('.opblock-summary', { hasText: '/api/v1/session' }).first().click();
      const operation = page.locator('.opblock.is-open', { hasText: '/api/v1/session' }).first();
      await expect.poll(() => operation.locator('.responses-wrapper').textContent()).toContain('"role"');
      expect(failed).toEqual([]);
      await screenshot(page, 'api-reference-desktop');
      await page.getByRole('link', { name: '← Back to the dashboard' }).click();
      await page.waitForURL(`${web.url}/llm`);
      await page.close();
    });

    it('passes method, query, body, cookies and credentials through, adds X-Forwarded-*, and returns every Set-Cookie', async () => {
      const response = await fetch(`${webOnUpstream.url}/api/v1/things?limit=5&cursor=a%2Fb`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          cookie: 'llmops_session=s1',
          authorization: 'Bearer t1',
          'x-forwarded-for': '203.0.113.9',
          'x-llmops-proxy-secret': 'a guess',
        },
        body: JSON.stringify({ name: 'x' }),
      });
      expect(response.status).toBe(201);
      const seen = (await response.json()) as { method: string; url: string; headers: Record<string, string>; body: string };
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe('/api/v1/things?limit=5&cursor=a%2Fb');
      expect(seen.body).toBe('{"name":"x"}');
      expect(seen.headers).toMatchObject({
        cookie: 'llmops_session=s1',
        authorization: 'Bearer t1',
        'content-type': 'application/json',
        'x-forwarded-for': '127.0.0.1', // the browser's own claim is replaced, not passed on
        'x-forwarded-host': new URL(webOnUpstream.url).host,
        'x-forwarded-proto': 'http',
        'x-llmops-proxy-secret': WEB_PROXY_SECRET, // the server's own proof, never the browser's
      });
      expect(response.headers.getSetCookie()).toEqual(['session=abc; Path=/; HttpOnly; SameSite=Lax', 'theme=x; Path=/']);
      expect(response.headers.get('x-upstream')).toBe('passes');
      expect(response.headers.get('x-hop')).toBeNull();

      // The server knows its own origin (ORIGIN), so the browser's own bodiless POST passes the CSRF check.
      const ownPost = await fetch(`${webOnUpstream.url}/api/v1/things/1/cancel`, {
        method: 'POST',
        headers: { origin: webOnUpstream.url },
      });
      expect(ownPost.status).toBe(201);
      const foreignPost = await fetch(`${webOnUpstream.url}/api/v1/things/1/cancel`, {
        method: 'POST',
        headers: { origin: 'http://evil.example' },
      });
      expect(foreignPost.status).toBe(403);
      // Refused as problem+json like every other /api answer, never SvelteKit's plain text.
      expect(foreignPost.headers.get('content-type')).toBe('application/problem+json');
      expect(await foreignPost.json()).toMatchObject({
        status: 403,
        title: 'Forbidden',
        detail: expect.stringMatching(/Cross-site POST/),
      });
      const foreignForm = await fetch(`${webOnUpstream.url}/api/v1/things`, {
        method: 'POST',
        headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1',
      });
      expect(foreignForm.status).toBe(403);
      expect(foreignForm.headers.get('content-type')).toBe('application/problem+json');
    });

    it('sends a read again when the gateway closes an idle connection just as it arrives; a write gets its 502', async () => {
      const warmThenExpire = async () => {
        expect((await fetch(`${webOnExpiring.url}/api/v1/warm`)).status).toBe(200);
        await expiring.lastConnectionExpired();
      };
      await warmThenExpire();
      const read = await fetch(`${webOnExpiring.url}/api/v1/things/1`);
      expect(read.status).toBe(200);
      expect(await read.json()).toEqual({ answered: 'GET /api/v1/things/1' });
      expect(expiring.seen.filter((line) => line === 'GET /api/v1/things/1')).toHaveLength(2);

      await warmThenExpire();
      const write = await fetch(`${webOnExpiring.url}/api/v1/things`, {
        method: 'POST',
        headers: { origin: webOnExpiring.url, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(write.status).toBe(502);
      expect(expiring.seen.filter((line) => line === 'POST /api/v1/things')).toHaveLength(1);
    });

    it('streams server-sent events through without buffering', async () => {
      const { statusCode, headers, firstChunk, rest } = await new Promise<{
        statusCode: number | undefined;
        headers: IncomingMessage['headers'];
        firstChunk: string;
        rest: Promise<string>;
      }>((resolve, reject) => {
        const request = httpRequest(`${webOnUpstream.url}/api/v1/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
          res.setEncoding('utf8');
          res.once('data', (chunk: string) => {
            let more = '';
            const rest = new Promise<string>((done) => {
              res.on('data', (next: string) => (more += next));
              res.on('end', () => done(more));
            });
            resolve({ statusCode: res.statusCode, headers: res.headers, firstChunk: chunk, rest });
          });
        });
        request.on('error', reject);
        request.end();
      });
      // The first event arrived while the upstream still holds the second back: nothing waited for the end.
      expect(statusCode).toBe(200);
      expect(headers['content-type']).toBe('text/event-stream');
      expect(firstChunk).toBe('id: 1\ndata: first\n\n');
      upstream.releaseStream();
      expect(await rest).toBe('id: 2\ndata: second\n\n');
    });
  });

  describe('settings and the overview, signed in', () => {
    it('guides a new admin from real data and shows honest empty states', async () => {
      const { context, page } = await as(ADMIN);
      // Three pages that change nothing, each in a tab of its own, checked at once.
      const [tokens, deadLetters] = await Promise.all([context.newPage(), context.newPage()]);
      const errors = await Promise.all([page, tokens, deadLetters].map((tab) => watchErrors(tab)));

      await Promise.all([
        (async () => {
          await open(page, `${web.url}/llm`);
          const guide = page.getByRole('region', { name: 'Get started' });
          expect(await guide.textContent()).toContain('0 of 4 done');
          expect(await guide.getByText('Not yet.').count()).toBe(4);
          expect(await guide.locator('li[aria-current="step"] h3').textContent()).toBe('Add a provider');
          await expectAccessible(page, 'the overview');
          await screenshots(page, 'overview-first-run');
        })(),
        (async () => {
          await open(tokens, `${web.url}/settings/tokens`);
          expect(await tokens.getByRole('heading', { name: 'No API tokens yet' }).count()).toBe(1);
        })(),
        (async () => {
          await open(deadLetters, `${web.url}/settings/dead-letters`);
          expect(await deadLetters.getByRole('heading', { name: 'No dead letters' }).count()).toBe(1);
        })(),
      ]);

      expect(errors.flat()).toEqual([]);
      await context.close();
    });

    it('filters the audit log from the address, and the back button keeps the filters', async () => {
      const { context, page } = await as(ADMIN);
      const errors = await watchErrors(page);
      // The audit log holds the accounts made for this file; a filter that matches nothing says so, from the URL.
      await open(page, `${web.url}/settings/audit`);
      expect(await page.getByRole('cell', { name: 'account.created' }).count()).toBe(ACCOUNTS.length);
      await page.getByLabel('Action').fill('provider.created');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(`${web.url}/settings/audit?action=provider.created&service=&resource_type=&actor_id=&since=&until=`);
      expect(await page.getByRole('heading', { name: 'Nothing matches these filters' }).count()).toBe(1);
      await page.goBack();
      await expect.poll(() => page.getByRole('cell', { name: 'account.created' }).count()).toBe(ACCOUNTS.length);
      await screenshots(page, 'settings-audit');

      expect(errors).toEqual([]);
      await context.close();
    });

    it('creates an account through the form; a taken email is refused in words', async () => {
      const { context, page } = await as(ADMIN);
      const errors = await watchErrors(page);
      await open(page, `${web.url}/settings/accounts`);
      const form = page.getByRole('form', { name: 'New account' });
      await form.getByLabel('Name').fill('Lin Editor');
      await form.getByLabel('Email').fill(VIEWER.email);
      await form.getByLabel('First password').fill(PASSWORD);
      await form.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => form.getByRole('alert').textContent()).toContain('already exists');
      await form.getByLabel('Email').fill('lin@example.com');
      await form.getByLabel('First password').fill(PASSWORD);
      await form.getByRole('button', { name: 'Create account' }).click();
      await expect.poll(() => page.getByRole('main').getByRole('status').textContent()).toContain('lin@example.com is created');
      expect(await page.getByRole('cell', { name: 'lin@example.com' }).count()).toBe(1);
      // A role change, and disabling after a confirmation.
      const lin = page.getByRole('row', { name: /Lin Editor/ });
      await lin.getByLabel('Role of Lin Editor').selectOption('viewer');
      await lin.getByRole('button', { name: 'Save role' }).click();
      const linNow = async () => {
        const accounts = (await (await page.request.get(`${web.url}/api/v1/accounts`)).json()) as {
          items: { email: string; role: string; disabled: boolean }[];
        };
        return accounts.items.find((account) => account.email === 'lin@example.com');
      };
      await expect.poll(async () => (await linNow())?.role).toBe('viewer');
      await lin.getByRole('button', { name: 'Disable Lin Editor' }).click();
      await page
        .getByRole('alertdialog', { name: 'Disable Lin Editor?' })
        .getByRole('button', { name: 'Disable account' })
        .click();
      await expect.poll(() => page.getByRole('row', { name: /Lin Editor/ }).textContent()).toContain('Disabled');
      expect((await linNow())?.disabled).toBe(true);
      await expectAccessible(page, 'the accounts page');
      await screenshots(page, 'settings-accounts');
      expect(errors.filter((error) => !EXPECTED_4XX.test(error))).toEqual([]);
      await context.close();
    });

    it('adds a provider through the dashboard, tests it, imports a model, and replaces its key', async () => {
      const { context, page } = await as(ADMIN);
      const errors = await watchErrors(page);
      await open(page, `${web.url}/llm/providers`);
      expect(await page.getByRole('heading', { name: 'No providers yet' }).count()).toBe(1);
      await expectAccessible(page, 'the providers page');
      await page.getByRole('main').getByRole('link', { name: 'Add a provider' }).first().click();
      await page.waitForURL(`${web.url}/llm/providers/new`);
      await expectAccessible(page, 'the new provider form');
      const form = page.getByRole('form', { name: 'Add a provider' });
      await form.getByLabel('Name').fill('Local stand-in');
      await form.getByLabel('Base URL').fill(emulator.baseUrl('openai'));
      await form.getByLabel('API key').fill('sk-test-1234');
      await form.getByLabel('Monthly spend cap (USD)').fill('25.50');
      await form.getByRole('button', { name: 'Add provider' }).click();
      await page.waitForURL(/\/llm\/providers\/[0-9a-f-]{36}$/);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Local stand-in');
      expect(await page.getByRole('navigation', { name: 'Main' }).locator('[aria-current="page"]').allTextContents()).toEqual([
        expect.stringContaining('Providers'),
      ]);
      expect(await page.getByRole('main').textContent()).toContain('Set, ending');

      await page.getByRole('button', { name: 'Test connection' }).click();
      await expect.poll(() => page.locator('.result').textContent()).toMatch(/It answers\. \d+ ms, 3 models seen/);
      await page.getByRole('button', { name: 'Discover models' }).click();
      const offered = page.getByRole('form', { name: 'Import models' });
      await offered.getByLabel('emu-gpt-small').check();
      await offered.getByRole('button', { name: 'Import chosen models' }).click();
      await expect.poll(() => page.getByRole('main').getByRole('status').textContent()).toBe('1 model imported.');
      expect(await page.getByRole('cell', { name: /emu-gpt-small/ }).count()).toBe(1);

      const key = page.getByRole('form', { name: 'Replace key' });
      await key.getByLabel('New API key').fill('sk-test-5678');
      await key.getByRole('button', { name: 'Replace key' }).click();
      await expect.poll(() => page.getByRole('main').textContent()).toContain('5678');
      await expectAccessible(page, 'a provider');
      await screenshots(page, 'provider-detail');

      expect(errors).toEqual([]);
      await context.close();
    });

    it('prices the imported model, keeping its price history', async () => {
      const { context, page } = await as(ADMIN);
      const errors = await watchErrors(page, EXPECTED_4XX);
      await open(page, `${web.url}/llm`);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' }).click();
      await page.waitForURL(`${web.url}/llm/models`);
      await page.getByRole('link', { name: 'emu-gpt-small' }).click();
      await page.waitForURL(/\/llm\/models\/[0-9a-f-]{36}$/);
      expect(await page.getByRole('heading', { name: 'No price yet' }).count()).toBe(1);
      const price = page.getByRole('form', { name: 'New price' });
      await price.getByLabel('Input per Mtok (USD)').fill('two');
      await price.getByLabel('Output per Mtok (USD)').fill('10.00');
      await price.getByRole('button', { name: 'Record price' }).click();
      await expect.poll(() => page.locator('#field-input_per_mtok-error').count()).toBe(1);
      expect(await price.getByLabel('Output per Mtok (USD)').inputValue()).toBe('10.00');
      await price.getByLabel('Input per Mtok (USD)').fill('2.50');
      await price.getByRole('button', { name: 'Record price' }).click();
      const history = page.getByRole('region', { name: 'Price history, newest first' });
      await expect.poll(() => history.getByRole('row').count()).toBe(2);
      expect(await history.getByRole('row').nth(1).textContent()).toMatch(/\$2\.5.*\$10.*In force/);
      // What it takes, from the family its rules were copied from (docs/model-rules.md).
      const rules = page.getByRole('region', { name: 'Parameters it takes' });
      expect(await rules.textContent()).toContain('openai-default');
      expect(await rules.textContent()).toMatch(/temperature\s*0 to 2/);

      // A scheduled price with a typo is corrected, then withdrawn, before it takes effect.
      await price.getByLabel('Input per Mtok (USD)').fill('30.00');
      await price.getByLabel('Output per Mtok (USD)').fill('12.00');
      await price.getByLabel(/^From/).fill('2099-01-01T00:00');
      await price.getByRole('button', { name: 'Record price' }).click();
      await expect.poll(() => history.getByRole('row').count()).toBe(3);
      expect(await history.getByRole('row').nth(1).textContent()).toMatch(/1 Jan 2099.*\$30\.00.*\$12\.00.*Upcoming/);
      await history.getByRole('button', { name: 'Correct the price from 1 Jan 2099, 00:00' }).click();
      await page.waitForURL(/\?correct=2099-01-01/);
      const correct = page.getByRole('form', { name: 'Correct the scheduled price' });
      expect(await correct.getByLabel('Input per Mtok (USD)').inputValue()).toBe('30');
      await correct.getByLabel('Input per Mtok (USD)').fill('3.00');
      await expectAccessible(page, 'a scheduled price being corrected');
      await screenshots(page, 'model-price-correct');
      await correct.getByRole('button', { name: 'Correct price' }).click();
      await expect.poll(() => page.getByRole('main').getByRole('status').textContent()).toBe('The scheduled price is corrected.');
      expect(await history.getByRole('row').nth(1).textContent()).toMatch(/1 Jan 2099.*\$3\.00.*\$12\.00.*Upcoming/);
      expect(await page.getByRole('form', { name: 'New price' }).count()).toBe(1);
      await history.getByRole('button', { name: 'Withdraw the price from 1 Jan 2099, 00:00' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Withdraw price' }).click();
      await expect.poll(() => history.getByRole('row').count()).toBe(2);
      expect(await history.getByRole('row').nth(1).textContent()).toMatch(/\$2\.5.*\$10.*In force/);

      // Its rules, edited as JSON: a range wider than its protocol's is refused in words; an edit is its own.
      await rules.getByText('Edit the rules (JSON)').click();
      const edit = page.getByRole('form', { name: 'Model rules' });
      const text = edit.getByLabel('Rules, replaced as a whole');
      const current = JSON.parse(await text.inputValue()) as { parameters: Record<string, unknown> };
      await text.fill(JSON.stringify({ ...current, parameters: { ...current.parameters, temperature: { min: 0, max: 5 } } }));
      await edit.getByRole('button', { name: 'Save rules' }).click();
      await expect
        .poll(() => page.locator('#model-rules-error').textContent())
        .toBe('parameters.temperature.max: OpenAI or OpenAI-compatible takes temperature up to 2.');
      await screenshots(page, 'model-rules-refused');
      const { seed: _seed, ...kept } = current.parameters;
      await text.fill(JSON.stringify({ ...current, parameters: kept }));
      await edit.getByRole('button', { name: 'Save rules' }).click();
      await expect
        .poll(() => page.getByRole('main').getByRole('status').textContent())
        .toBe('The rules are saved: presets and new tasks are checked against them.');
      expect(await rules.textContent()).toContain('This model’s own rules');
      expect(await rules.locator('dl').textContent()).not.toContain('seed');
      await expectAccessible(page, 'a model');
      await screenshots(page, 'model-prices');

      // The overview ticks the first two steps from what now exists.
      await open(page, `${web.url}/llm`);
      expect(await page.getByRole('region', { name: 'Get started' }).textContent()).toContain('2 of 4 done');
      expect(errors).toEqual([]);
      await context.close();
    });

    it('changes your own password: a wrong current one is said beside its field; other sessions end, this one stays', async () => {
      // Two sessions of its own: the change ends the other one.
      const signedInTwice = async () => {
        const context = await browser.newContext({ viewport: DESKTOP });
        await signIn(context, web.url, PAT.email, PAT.password);
        return { context, page: await context.newPage() };
      };
      const [{ context, page }, other] = await Promise.all([signedInTwice(), signedInTwice()]);
      const errors = await watchErrors(page, EXPECTED_4XX);

      await open(page, `${web.url}/settings`);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Settings');
      const form = page.getByRole('form', { name: 'Change your password' });
      await form.getByLabel('Current password').fill('not my password');
      await form.getByLabel('New password').fill('short');
      await form.getByRole('button', { name: 'Change password' }).click();
      // The browser's check first, in plain words, beside the field; nothing was sent.
      await expect
        .poll(() => page.locator('#field-new_password-error').textContent())
        .toBe('Use at least 12 characters (this has 5).');
      await form.getByLabel('New password').fill('a brand new password');
      await form.getByRole('button', { name: 'Change password' }).click();
      // The gateway's refusal, mapped from its field path to the field.
      await expect
        .poll(() => page.locator('#field-current_password-error').textContent())
        .toBe('This is not your current password.');
      await screenshots(page, 'settings-password-refused');

      await form.getByLabel('Current password').fill(PASSWORD);
      await form.getByLabel('New password').fill('a brand new password');
      await form.getByRole('button', { name: 'Change password' }).click();
      await expect.poll(() => page.getByRole('main').getByRole('status').textContent()).toContain('Your password is changed');
      expect(await form.getByLabel('Current password').inputValue()).toBe('');
      await expectAccessible(page, 'your account');

      await reload(page);
      expect(new URL(page.url()).pathname).toBe('/settings');
      await open(other.page, `${web.url}/settings`);
      expect(other.page.url()).toBe(`${web.url}/login?next=%2Fsettings`);
      expect(errors).toEqual([]);
      await Promise.all([context.close(), other.context.close()]);
    });

    it('makes an API token that is shown once and works, then revokes it', async () => {
      const { context, page } = await as(ADMIN);
      const errors = await watchErrors(page, EXPECTED_4XX);
      await open(page, `${web.url}/settings/tokens`);
      const form = page.getByRole('form', { name: 'New API token' });
      await form.getByLabel('Name').fill('publishing script');
      await form.getByRole('button', { name: 'Create token' }).click();
      await expect.poll(() => page.locator('#scopes-error').textContent()).toBe('Choose at least one scope.');
      expect(await form.getByLabel('Name').inputValue()).toBe('publishing script');

      await form.getByLabel('prompts:read').check();
      await form.getByRole('button', { name: 'Create token' }).click();
      const secret = page.locator('[data-secret]');
      await expect.poll(() => secret.count()).toBe(1);
      const token = (await secret.textContent()) ?? '';
      expect(token).toMatch(/^llmops_/);
      const withToken = () => fetch(`${web.url}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } });
      expect((await withToken()).status).toBe(200);
      await screenshots(page, 'settings-token-created');

      // Shown once: a reload lists it by name and prefix only.
      await reload(page);
      expect(await page.locator('[data-secret]').count()).toBe(0);
      const row = page.getByRole('row', { name: /publishing script/ });
      expect(await row.textContent()).toContain('prompts:read');
      await row.getByRole('button', { name: 'Revoke publishing script' }).click();
      // It asks first; cancelling changes nothing.
      const confirm = page.getByRole('alertdialog', { name: 'Revoke “publishing script”?' });
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      expect((await withToken()).status).toBe(200);
      await row.getByRole('button', { name: 'Revoke publishing script' }).click();
      await expectAccessible(page, 'the revoke confirmation');
      await confirm.getByRole('button', { name: 'Revoke token' }).click();
      await expect.poll(() => page.getByRole('row', { name: /publishing script/ }).textContent()).toContain('Revoked');
      expect((await withToken()).status).toBe(401);
      expect(errors).toEqual([]);
      await context.close();
    });

    it('shows a viewer no edit controls, and the server refuses them anyway', async () => {
      const { context, page } = await as(VIEWER);
      const errors = await watchErrors(page, /status of 403/);
      await open(page, `${web.url}/llm`);
      const guide = page.getByRole('region', { name: 'Get started' });
      expect(await guide.getByRole('link').count()).toBe(0);
      expect(await guide.getByText('An editor does this.').count()).toBe(2);
      // The provider the admin added: readable, with no control that changes it.
      await open(page, `${web.url}/llm/providers`);
      expect(await page.getByRole('link', { name: 'Add a provider' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Local stand-in' }).click();
      await page.waitForURL(/\/llm\/providers\/[0-9a-f-]{36}$/);
      expect(await page.getByRole('button', { name: /Disable|Discover models|Replace key|Save limits/ }).count()).toBe(0);

      await open(page, `${web.url}/settings`);
      const tabs = page.getByRole('navigation', { name: 'Settings' });
      // The workflow's configuration is readable by all (tests/browser/workflow.test.ts); the accounts,
      // audit and dead letters are not.
      expect(await tabs.getByRole('link').allTextContents()).toEqual(
        ['Your account', 'API tokens', 'Workflow steps', 'Workflow fields', 'Workflow actions'].map((text) =>
          expect.stringContaining(text),
        ),
      );
      await screenshots(page, 'settings-viewer');

      // The admin page by its address: the gateway's refusal, in its words.
      const response = await open(page, `${web.url}/settings/accounts`);
      expect(response?.status()).toBe(403);
      expect(await page.locator('main').textContent()).toMatch(/admin/i);
      // A hand-made form post to an admin action: refused by the gateway, nothing changed.
      const posted = await page.request.post(`${web.url}/settings/accounts?/update`, {
        form: { id: '00000000-0000-7000-8000-000000000000', role: 'admin' },
        headers: { origin: web.url, accept: 'application/json', 'x-sveltekit-action': 'true' },
      });
      expect(await posted.json()).toMatchObject({ type: 'failure', status: 403 });
      const session = await page.request.get(`${web.url}/api/v1/session`);
      expect(((await session.json()) as { account: { role: string } }).account.role).toBe('viewer');
      expect(errors).toEqual([]);
      await context.close();
    });

    it('has keyboard shortcuts, listed by ?', async () => {
      const { context, page } = await as(ADMIN);
      const errors = await watchErrors(page);
      await open(page, `${web.url}/llm`);
      await page.keyboard.press('?');
      const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain('Go to Settings');
      await expectAccessible(page, 'the shortcuts overlay');
      await screenshots(page, 'shortcuts');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await page.keyboard.press('g');
      await page.keyboard.press('t');
      await page.waitForURL(`${web.url}/settings/tokens`);
      expect(errors).toEqual([]);
      await context.close();
    });
  });

  describe('presets, money, the audit log and dead letters, on more models', () => {
    const models = new Map<string, Model>();

    /**
     * Adds to what the settings flows made through the UI (the emulator as "Local stand-in", its
     * emu-gpt-small priced at $2.50 / $10.00 per Mtok) through the public API, as an admin's script would:
     * three more of its models and a second, Anthropic-compatible provider with one.
     */
    async function registerModels(): Promise<void> {
      const context = await browser.newContext({ storageState: await session(ADMIN) });
      const post = async (path: string, data: unknown) => {
        const response = await context.request.post(`${web.url}${path}`, { data, headers: { origin: web.url } });
        expect(response.status(), `${path}: ${await response.text()}`).toBeLessThan(300);
        return (await response.json()) as { id: string; items: Model[] };
      };
      const get = async (path: string) =>
        (await (await context.request.get(`${web.url}${path}`)).json()) as { items: (Model & { name: string })[] };
      const openai = (await get('/api/v1/providers')).items.find((provider) => provider.name === 'Local stand-in');
      expect(openai, 'the provider the settings flow added').toBeDefined();
      const anthropic = await post('/api/v1/providers', {
        name: 'Local Anthropic stand-in',
        kind: 'anthropic',
        base_url: emulator.baseUrl('anthropic'),
        api_key: 'sk-ant-test-1234',
      });
      // Ids of real model families (docs/model-rules.md) give the rules the editor follows; `force` imports
      // them although the emulator does not list them.
      // One after the other: the Models page lists them in the order they were added.
      const more = await post(`/api/v1/providers/${openai?.id}/models/import`, {
        models: [
          { provider_model_id: 'emu-gpt-large' },
          { provider_model_id: 'emu-image', modality: 'image' },
          { provider_model_id: 'o4-mini' },
        ],
        force: true,
      });
      const claude = await post(`/api/v1/providers/${anthropic.id}/models/import`, {
        models: [{ provider_model_id: 'claude-sonnet-4-5' }],
        force: true,
      });
      const existing = await get('/api/v1/models?limit=200');
      for (const model of [...existing.items, ...more.items, ...claude.items]) models.set(model.provider_model_id, model);
      expect([...models.keys()].sort()).toEqual(['claude-sonnet-4-5', 'emu-gpt-large', 'emu-gpt-small', 'emu-image', 'o4-mini']);
      await context.close();
    }

    beforeAll(registerModels);

    it('makes a preset with a fallback: controls follow the model’s rules, an image fallback is refused beside the list', async () => {
      const { context, page } = await as(ADMIN, 10_000);
      const errors = await watchErrors(page, EXPECTED_4XX);
      await open(page, `${web.url}/llm/presets`);
      expect(await page.getByRole('heading', { name: 'No presets yet' }).count()).toBe(1);
      await page.getByRole('main').getByRole('link', { name: 'New preset' }).first().click();
      await page.waitForURL(`${web.url}/llm/presets/new`);
      const form = page.getByRole('form', { name: 'Preset' });
      const model = form.getByLabel('Model', { exact: true });

      // A reasoning model: its effort, no sampling parameters.
      await model.selectOption({ label: 'o4-mini (chat)' });
      expect(await form.getByLabel('Reasoning effort').count()).toBe(1);
      expect(await form.getByLabel('Temperature', { exact: true }).count()).toBe(0);
      // Claude 4.5: temperature or top_p, as a choice, with Anthropic's range.
      await model.selectOption({ label: 'claude-sonnet-4-5 (chat)' });
      const either = form.getByRole('group', { name: /Temperature or Top p/ });
      expect(await either.getByLabel('Temperature', { exact: true }).getAttribute('max')).toBe('1');
      await either.getByLabel('Set top p').check();
      expect(await form.getByLabel('Temperature', { exact: true }).count()).toBe(0);
      expect(await form.getByLabel('Top p', { exact: true }).count()).toBe(1);
      expect(await form.getByLabel('Reasoning effort').count()).toBe(0);
      await expectAccessible(page, 'the preset editor');

      // An OpenAI chat model: every sampling parameter, temperature up to 2, checked before sending.
      await model.selectOption({ label: 'emu-gpt-small (chat)' });
      await form.getByLabel('Name', { exact: true }).fill('Drafting');
      await form.getByLabel('Temperature', { exact: true }).fill('3');
      await form.getByRole('button', { name: 'Create preset' }).click();
      await expect.poll(() => page.locator('#preset-temperature-error').textContent()).toBe('Use a number from 0 to 2.');
      await form.getByLabel('Temperature', { exact: true }).fill('0.7');
      await form.getByLabel('Attempts at most').fill('4');

      // An image model in a chat chain: the API's 422, beside the fallback list.
      const add = form.getByLabel('Add a fallback');
      await add.selectOption({ label: 'emu-image (image)' });
      await form.getByRole('button', { name: 'Add fallback' }).click();
      await form.getByRole('button', { name: 'Create preset' }).click();
      await expect.poll(() => page.locator('#fallbacks-error').textContent()).toContain('generates images');
      expect(await form.getByLabel('Temperature', { exact: true }).inputValue()).toBe('0.7');
      await screenshots(page, 'preset-refused-fallback');

      await form.getByRole('button', { name: 'Remove emu-image' }).click();
      await add.selectOption({ label: 'emu-gpt-large (chat)' });
      await form.getByRole('button', { name: 'Add fallback' }).click();
      await add.selectOption({ label: 'claude-sonnet-4-5 (chat)' });
      await form.getByRole('button', { name: 'Add fallback' }).click();
      const order = form.getByRole('list', { name: 'Fallback order' });
      const names = () => order.locator('.name').allTextContents();
      expect(await names()).toEqual(['emu-gpt-large', 'claude-sonnet-4-5']);
      // By keyboard: the row's button, then Alt+↓ on it.
      await form.getByRole('button', { name: 'Move claude-sonnet-4-5 up' }).click();
      expect(await names()).toEqual(['claude-sonnet-4-5', 'emu-gpt-large']);
      await form.getByRole('button', { name: 'Remove claude-sonnet-4-5' }).focus();
      await page.keyboard.press('Alt+ArrowDown');
      expect(await names()).toEqual(['emu-gpt-large', 'claude-sonnet-4-5']);
      // By dragging: the second row onto the first.
      await order.locator('li').nth(1).dragTo(order.locator('li').nth(0));
      await expect.poll(names).toEqual(['claude-sonnet-4-5', 'emu-gpt-large']);

      await form.getByRole('button', { name: 'Create preset' }).click();
      await page.waitForURL(/\/llm\/presets\/[0-9a-f-]{36}$/);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Drafting');
      const saved = (await (await page.request.get(`${web.url}/api/v1/presets/${page.url().split('/').at(-1)}`)).json()) as {
        model_id: string;
        parameters: Record<string, unknown>;
        retry_policy: { max_attempts: number };
        fallback_model_ids: string[];
      };
      expect(saved.model_id).toBe(models.get('emu-gpt-small')?.id);
      expect(saved.parameters).toEqual({ temperature: 0.7 });
      expect(saved.retry_policy.max_attempts).toBe(4);
      expect(saved.fallback_model_ids).toEqual([models.get('claude-sonnet-4-5')?.id, models.get('emu-gpt-large')?.id]);
      expect(await names()).toEqual(['claude-sonnet-4-5', 'emu-gpt-large']);
      await expectAccessible(page, 'a preset');
      await screenshots(page, 'preset-editor');

      await open(page, `${web.url}/llm/presets`);
      const row = page.getByRole('row', { name: /Drafting/ });
      expect(await row.textContent()).toContain('claude-sonnet-4-5 → emu-gpt-large');
      await expectAccessible(page, 'the presets page');
      await screenshots(page, 'presets');
      expect(errors).toEqual([]);
      await context.close();
    }, 60_000);

    it('shows money as money, and sorts by a column header (in the address; by keyboard too; the back button keeps it)', async () => {
      const { context, page } = await as(ADMIN, 10_000);
      const errors = await watchErrors(page);
      await open(page, `${web.url}/llm/models`);
      const priced = page.getByRole('row', { name: /emu-gpt-small/ });
      expect(await priced.getByRole('cell').allTextContents()).toEqual(expect.arrayContaining(['$2.50', '$10.00']));
      const table = page.getByRole('region', { name: 'Models' });
      const modelNames = () => table.locator('tbody tr td:first-child a').allTextContents();
      const header = (name: string) => table.getByRole('columnheader', { name, exact: true });
      // The API's order (when each was added) until a header is chosen.
      expect(await modelNames()).toEqual(['emu-gpt-small', 'emu-gpt-large', 'emu-image', 'o4-mini', 'claude-sonnet-4-5']);
      expect(await header('Added').getAttribute('aria-sort')).toBe('ascending');

      await header('Model').getByRole('link').click();
      await page.waitForURL(`${web.url}/llm/models?sort=name`);
      await expect.poll(modelNames).toEqual(['claude-sonnet-4-5', 'emu-gpt-large', 'emu-gpt-small', 'emu-image', 'o4-mini']);
      expect(await header('Model').getAttribute('aria-sort')).toBe('ascending');
      expect(await header('Added').getAttribute('aria-sort')).toBeNull();
      // The same header again, from the keyboard (focus stays on it): the other way.
      await header('Model').getByRole('link').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(`${web.url}/llm/models?sort=-name`);
      await expect.poll(modelNames).toEqual(['o4-mini', 'emu-image', 'emu-gpt-small', 'emu-gpt-large', 'claude-sonnet-4-5']);
      expect(await header('Model').getAttribute('aria-sort')).toBe('descending');
      // The dearest input price first; the models with no price come last either way.
      await header('In / Mtok').getByRole('link').click();
      await page.waitForURL(`${web.url}/llm/models?sort=input_price`);
      await header('In / Mtok').getByRole('link').click();
      await page.waitForURL(`${web.url}/llm/models?sort=-input_price`);
      await expect.poll(async () => (await modelNames())[0]).toBe('emu-gpt-small');
      await expectAccessible(page, 'the models page, sorted');
      await screenshots(page, 'models-sorted');
      await page.goBack();
      await page.waitForURL(`${web.url}/llm/models?sort=input_price`);
      await page.goBack();
      await page.waitForURL(`${web.url}/llm/models?sort=-name`);
      await expect.poll(modelNames).toEqual(['o4-mini', 'emu-image', 'emu-gpt-small', 'emu-gpt-large', 'claude-sonnet-4-5']);
      // A filter keeps the order.
      await page.getByLabel('Modality').selectOption('chat');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/modality=chat/);
      expect(new URL(page.url()).searchParams.get('sort')).toBe('-name');
      await expect.poll(modelNames).toEqual(['o4-mini', 'emu-gpt-small', 'emu-gpt-large', 'claude-sonnet-4-5']);

      await open(page, `${web.url}/llm/providers`);
      expect(await page.getByRole('row', { name: /Local stand-in/ }).textContent()).toContain('$25.50/month');
      const providerNames = () => page.locator('tbody tr td:first-child a').allTextContents();
      expect(await providerNames()).toEqual(['Local stand-in', 'Local Anthropic stand-in']);
      await page.getByRole('columnheader', { name: 'Name', exact: true }).getByRole('link').click();
      await page.waitForURL(`${web.url}/llm/providers?sort=name`);
      await expect.poll(providerNames).toEqual(['Local Anthropic stand-in', 'Local stand-in']);
      await screenshots(page, 'providers-sorted');
      expect(errors).toEqual([]);
      await context.close();
    });

    it('filters the audit log by who and when', async () => {
      const { context, page } = await as(ADMIN, 10_000);
      const errors = await watchErrors(page);
      await open(page, `${web.url}/settings/audit`);
      const filters = page.getByRole('search', { name: 'Filter the audit log' });
      const rows = page.getByRole('region', { name: 'Audit entries' }).getByRole('row');
      const nothing = page.getByRole('heading', { name: 'Nothing matches these filters' });
      // The editor changed nothing; the admin made the providers and the preset.
      await filters.getByLabel('By').selectOption({ label: `${EDITOR.name} (${EDITOR.email})` });
      await filters.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/actor_id=[0-9a-f-]{36}/);
      await expect.poll(() => nothing.count()).toBe(1);
      await filters.getByLabel('By').selectOption({ label: `${ADMIN.name} (${ADMIN.email})` });
      await filters.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => rows.filter({ hasText: 'preset.created' }).count()).toBe(1);
      expect(await rows.filter({ hasText: 'provider.created' }).count()).toBe(2);
      expect(await rows.filter({ hasNotText: ADMIN.name }).count()).toBe(1); // the header row
      await filters.getByLabel('Since (UTC)').fill('2099-01-01T00:00');
      await filters.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/since=2099-01-01T00%3A00/);
      await expect.poll(() => nothing.count()).toBe(1);
      await filters.getByLabel('Since (UTC)').fill('');
      await filters.getByLabel('Until (UTC)').fill('2099-01-01T00:00');
      await filters.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/until=2099-01-01T00%3A00/);
      await expect.poll(() => rows.filter({ hasText: 'preset.created' }).count()).toBeGreaterThan(0);
      await expectAccessible(page, 'the audit log, filtered');
      await screenshots(page, 'settings-audit-filtered');
      expect(errors).toEqual([]);
      await context.close();
    });

    it('runs a real dead letter again, then skips it', async () => {
      // An audit event that breaks its contract (as from a producer with an older one: built by hand, past
      // the contract's check): the gateway's audit consumer gives up on it at once. Published as a service
      // publishes, so the doorbell rings rather than leaving it to the consumer's sweep.
      await publishMany(admin, [
        { id: randomUUID(), topic: 'audit.change.recorded', key: 'dead-letter-test', payload: { broken: true }, headers: {} },
      ]);
      const { context, page } = await as(ADMIN, 10_000);
      const errors = await watchErrors(page);
      // Whether the consumer has given up on it yet is read from the database, not by reloading the page until
      // it shows: each reload is a whole page load, and the page is then loaded once the letter is there.
      const dead = async () =>
        (await admin.query(`SELECT 1 FROM bus.parked WHERE key = 'dead-letter-test' AND status = 'dead'`)).rowCount;
      await expect.poll(dead, { timeout: 20_000, interval: 100 }).toBe(1);
      await open(page, `${web.url}/settings/dead-letters`);
      const letter = page.getByRole('row', { name: /gateway\.audit-log/ });
      expect(await letter.count()).toBe(1);
      expect(await letter.textContent()).toContain('(1 attempts)');
      await expectAccessible(page, 'a dead letter');
      await screenshots(page, 'settings-dead-letter');

      await letter.getByRole('button', { name: 'Run again' }).click();
      await expect.poll(() => page.locator('p[role="status"]').textContent()).toBe('Scheduled to run again.');
      const audited = async (action: string) =>
        ((await (await page.request.get(`${web.url}/api/v1/audit?action=${action}`)).json()) as { items: unknown[] }).items
          .length;
      // The audit log is written by the gateway's consumer of the event, a moment after the answer.
      await expect.poll(() => audited('dead_letter.replayed')).toBe(1);
      // It is still broken: the consumer gives up on it again, and it is back in the list.
      await expect.poll(dead, { timeout: 20_000, interval: 100 }).toBe(1);
      await reload(page);
      expect(await letter.count()).toBe(1);

      await letter.getByRole('button', { name: 'Skip' }).click();
      await page.getByRole('alertdialog').getByRole('button', { name: 'Skip event' }).click();
      await expect.poll(() => page.getByRole('heading', { name: 'No dead letters' }).count()).toBe(1);
      const { rows } = await admin.query(`SELECT 1 FROM bus.parked WHERE key = 'dead-letter-test'`);
      expect(rows).toEqual([]);
      await expect.poll(() => audited('dead_letter.skipped')).toBe(1);
      expect(errors).toEqual([]);
      await context.close();
    }, 60_000);
  });

  describe('when the gateway goes away and comes back', () => {
    /** What the live layer's page keeps of its stream, for the test to read. */
    interface Seen {
      events: { event: string; n?: number; id?: string }[];
      statuses: string[];
      query: string | undefined;
    }
    let liveLayer: string;

    beforeAll(async () => {
      const bundle = await build({
        input: 'live-entry',
        platform: 'browser',
        write: false,
        output: { format: 'iife' },
        plugins: [svelte],
      });
      liveLayer = bundle.output[0].code;
    });

    it('says so honestly while the gateway is down (an error state, a 503 page, a 502 problem); the live layer and the overview’s live updates recover by themselves once it is back, missing nothing', async () => {
      const publish = (...numbers: number[]) =>
        publishMany(
          admin,
          numbers.map((n) => queued(n)),
        );

      // The live layer (web/src/lib/live/) in a viewer's tab, bundled for the page as it is written.
      const viewer = await browser.newContext({ viewport: DESKTOP, storageState: await session(VIEWER) });
      // Scripts the browser is given this way run before the page's own, outside its Content-Security-Policy.
      await viewer.addInitScript({ content: liveLayer });
      const layer = await viewer.newPage();
      const seen = () =>
        layer.evaluate(() => {
          const state = (window as unknown as { live: { seen: Seen; stream: { query: string | undefined } } }).live;
          return { ...state.seen, query: state.stream.query };
        });
      const numbers = async () =>
        (await seen()).events
          .filter((e) => e.event === 'runner.task.queued')
          .map((e) => e.n as number)
          .sort((a, b) => a - b);
      await open(layer, web.url);
      await layer.evaluate(() => {
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
      const layerIndicator = layer.getByText('Reconnecting to live updates').first();
      await expect.poll(async () => (await seen()).statuses.at(-1)).toBe('live');
      expect(await layerIndicator.count()).toBe(0);
      expect(new URLSearchParams((await seen()).query).getAll('topic')).toEqual(['runner.task.queued']);
      await publish(1, 2);
      await expect.poll(numbers, { timeout: 10_000 }).toEqual([1, 2]);

      // An editor's overview, its live-events stream open (from now: tasks 1 and 2 are not news to it).
      const { context: editorContext, page: live } = await as(EDITOR, 10_000);
      const violations: string[] = [];
      live.on('console', (message) => {
        if (message.text().includes('Content-Security-Policy')) violations.push(message.text());
      });
      const streaming = live.waitForResponse(
        (response) => response.url().includes('/api/v1/events') && response.status() === 200,
      );
      await open(live, `${web.url}/llm`);
      await streaming;
      const runIt = live.getByRole('region', { name: 'Get started' }).locator('li').filter({ hasText: 'Run it' });
      expect(await runIt.textContent()).not.toContain('Done.');

      // The admin's overview, which shows the gateway's readiness.
      const page = await signedInPage();
      const errors = await watchErrors(page);
      await open(page, web.url);
      const status = page.getByRole('region', { name: 'System status' });
      await expect.poll(() => status.locator('.head').textContent()).toContain('Ready');

      // The gateway goes away: every stream is cut, and until it is back the proxy answers 502, after which
      // the browser gives up on its own reconnects (EventSource does not retry an error answer).
      const streams: string[] = [];
      layer.on('request', (request) => {
        if (request.url().includes('/api/v1/events')) streams.push(request.url());
      });
      const refused = layer.waitForResponse((response) => response.url().includes('/api/v1/events') && response.status() === 502);
      const indicator = live.getByText('Reconnecting to live updates').first();
      await gateway.stop('test: gateway down');
      await expect.poll(async () => (await seen()).statuses.at(-1)).toBe('reconnecting');
      await publish(3, 4); // while nobody can hear: kept in the outbox
      // What the outage looks like, in the layer's tab, the admin's and over plain HTTP, side by side: none
      // waits for another, and the shorter the outage, the fewer backoff steps the shells' streams take to
      // come back.
      await Promise.all([
        (async () => {
          await refused;
          // Said quietly, in a corner, while it lasts.
          await expect.poll(() => layerIndicator.isVisible()).toBe(true);
          await expect.poll(() => indicator.isVisible(), { timeout: 10_000 }).toBe(true);
          // It fades in after a second, so a quick reconnect never flashes: the picture is taken once it has.
          await layerIndicator.evaluate((element) =>
            Promise.all(element.getAnimations({ subtree: true }).map((a) => a.finished)),
          );
          await layer.screenshot({ path: join(SCREENSHOTS, 'live-reconnecting-desktop.png') });
          await layer.setViewportSize(PHONE);
          await layer.screenshot({ path: join(SCREENSHOTS, 'live-reconnecting-phone.png') });
          await layer.setViewportSize(DESKTOP);
        })(),
        (async () => {
          // The next check (here asked for at once rather than after the 10 s refresh) shows the outage.
          await page.getByRole('button', { name: 'Check now' }).click();
          await expect.poll(() => status.locator('.head').textContent()).toContain('Unreachable');
          const alert = status.getByRole('alert');
          expect(await alert.textContent()).toContain('npm start');
          // The page's live-events stream tries again meanwhile and the proxy answers 502 (the browser logs
          // that load); nothing else may fail.
          expect(errors.filter((error) => !error.includes('status of 502 (Bad Gateway)'))).toEqual([]);
          await screenshot(page, 'gateway-down-desktop');
          // A reload while the gateway is away is an error page to retry, never a sign-out.
          await page.setViewportSize(PHONE);
          const reloaded = await page.reload();
          expect(reloaded?.status()).toBe(503);
          expect(new URL(page.url()).pathname).toBe('/llm');
          expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Something went wrong (503)');
          expect(await page.locator('main').textContent()).toContain('You are still signed in');
          await screenshot(page, 'gateway-down-phone');
          await page.close();
        })(),
        (async () => {
          const response = await fetch(`${web.url}/api/v1/openapi.json`);
          expect(response.status).toBe(502);
          expect(response.headers.get('content-type')).toBe('application/problem+json');
          const problem = (await response.json()) as Record<string, unknown>;
          expect(problem).toMatchObject({ status: 502, title: 'Gateway unreachable' });
          expect(problem.type).toMatch(/^https:\/\//);
          expect(problem.detail).toMatch(/could not reach the LLM Ops gateway/);
          // The server logs the failure on its own output stream, which may reach us a moment after the response.
          await expect.poll(() => web.output()).toContain('gateway unreachable');
        })(),
      ]);

      // Back on its port: the streams reopen by themselves, and the layer gets what was published meanwhile.
      gateway = await startGateway(gatewayPort);
      await expect.poll(numbers, { timeout: 15_000 }).toEqual([1, 2, 3, 4]);
      await expect.poll(async () => (await seen()).statuses.at(-1)).toBe('live');
      // The shells' own streams come back on their own backoff, a moment later.
      await expect.poll(() => layerIndicator.count(), { timeout: 20_000 }).toBe(0);
      await expect.poll(() => indicator.count(), { timeout: 20_000 }).toBe(0);
      // The layer reopened the stream itself, from the last event it had.
      const [, second] = (await seen()).events.filter((e) => e.event === 'runner.task.queued');
      expect(new URL(streams.at(-1) as string).searchParams.get('last_event_id')).toBe(second?.id);

      // A task is queued after the restart: both get it, and the editor's guide ticks its last step.
      await publish(5);
      await expect.poll(numbers, { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5]);
      await expect.poll(() => runIt.textContent(), { timeout: 10_000 }).toContain('Done.');
      expect(violations).toEqual([]);

      // A component subscribes to more: the stream reopens with its new filter from the last event, and
      // the first subscriber goes on without a gap or a repeat.
      await layer.evaluate((id) => {
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
      await Promise.all([editorContext.close(), viewer.close()]);
    }, 120_000);
  });
});
