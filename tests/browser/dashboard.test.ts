/// <reference lib="dom" />
/**
 * The dashboard in a real headless Chromium, against a real gateway on a real (throwaway) database: the
 * built web server (`node web/build/index.js`) is started as the supervisor starts it. A small upstream
 * server of the test's own stands in for the gateway where the gateway has nothing to show yet (an event
 * stream, echoed headers). Screenshots go to test-results/screenshots/ for a person to look at.
 */
import { mkdirSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { startExpiringServer, type ExpiringServer } from '@llmops/kit/testing/expiring-server';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import {
  DESKTOP,
  expectAccessible,
  expectPageHeaders,
  launchBrowser,
  open,
  PHONE,
  reload,
  SCREENSHOTS,
  sessions,
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

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const db = await useTestDatabase();
const GATEWAY_ENV = gatewayEnv(db.urlFor('gateway'));
const ADMIN = { email: 'grace@example.com', name: 'Grace Admin', role: 'admin' as const, password: 'a long enough password' };

describe('the dashboard', () => {
  let gateway: RunningService;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let web: WebServer;
  let webOnUpstream: WebServer;
  let expiring: ExpiringServer;
  let webOnExpiring: WebServer;
  let browser: Browser;
  let session: ReturnType<typeof sessions>;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [gateway, upstream, expiring, browser] = await Promise.all([
      runService('gateway', gatewayBuilder(GATEWAY_ENV), { env: GATEWAY_ENV }),
      startUpstream(),
      startExpiringServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ answered: `${req.method} ${req.url}` }));
      }),
      launchBrowser(),
    ]);
    [web, webOnUpstream, webOnExpiring] = await Promise.all([
      startWeb(gateway.url),
      startWeb(upstream.url),
      startWeb(expiring.url),
      createAccountAsOperator(db.adminUrl, ADMIN),
    ]);
    session = sessions(browser, web.url);
  });

  /** A page in a new context of its own, signed in as the admin (one session, made on first use). */
  async function signedInPage(viewport = DESKTOP): Promise<Page> {
    const context = await browser.newContext({ viewport, storageState: await session(ADMIN) });
    return context.newPage();
  }

  afterAll(async () => {
    upstream?.releaseStream();
    await Promise.all([browser?.close(), web?.stop(), webOnUpstream?.stop(), webOnExpiring?.stop(), gateway?.stop()]);
    await Promise.all([new Promise((resolve) => upstream?.server.close(resolve)), expiring?.close()]);
  });

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

  it('says so honestly when the gateway is down: an error state on the page, a 502 problem on /api', async () => {
    const page = await signedInPage();
    const errors = await watchErrors(page);
    await open(page, web.url);
    const status = page.getByRole('region', { name: 'System status' });
    await expect.poll(() => status.locator('.head').textContent()).toContain('Ready');

    await gateway.stop('test: gateway down');

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

    const response = await fetch(`${web.url}/api/v1/openapi.json`);
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 502, title: 'Gateway unreachable' });
    expect(problem.type).toMatch(/^https:\/\//);
    expect(problem.detail).toMatch(/could not reach the LLM Ops gateway/);
    // The server logs the failure on its own output stream, which may reach us a moment after the response.
    await expect.poll(() => web.output()).toContain('gateway unreachable');
  });
});
