/// <reference lib="dom" />
/**
 * Shared by the browser tests: the built dashboard started as the supervisor starts it, Chromium, a page
 * opened only once it has hydrated (a click before that would submit a form natively), and a watch on
 * everything a clean page never shows: console errors, uncaught errors, Content-Security-Policy
 * violations.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page, type Response } from 'playwright-core';
import { expect } from 'vitest';
import { freePort } from '@llmops/kit/testing/database';
import { webEnv } from './environment.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB_ENTRY = join(ROOT, 'web/build/index.js');
/**
 * Debian's build of Chromium's headless shell (the `chromium-headless-shell` package, the same Blink and V8
 * as its `chromium`): what Playwright itself runs for a headless launch. The full browser in its headless mode
 * carries the whole browser around each page; for the same contexts, pages, axe checks and screenshots the
 * shell took about 40 % less CPU (its browser process about 60 % less, its renderers a third less).
 */
const CHROMIUM = '/usr/lib/chromium/chromium-headless-shell';

export const SCREENSHOTS = join(ROOT, 'test-results/screenshots');
/** Where `npm run docs:screenshots` puts the pictures docs/ui.md shows (desktop width). */
export const DOCS_IMAGES = join(ROOT, 'docs/images/ui');
/** The screenshots docs/ui.md shows, refreshed when LLMOPS_DOCS_SCREENSHOTS=1 (`npm run docs:screenshots`). */
const DOCS_SHOTS = new Set([
  'overview-first-run',
  'provider-detail',
  'model-prices',
  'presets',
  'preset-editor',
  'settings-audit-filtered',
]);
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

if (!existsSync(WEB_ENTRY)) {
  throw new Error(`${WEB_ENTRY} is missing: build the dashboard first with \`npm run build -w web\` (npm test does it)`);
}
if (!existsSync(CHROMIUM)) {
  throw new Error(
    `${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium-headless-shell\` (.ci/run does it)`,
  );
}

export interface WebServer {
  url: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts the built dashboard as the supervisor does, and waits for its /healthz. */
export async function startWeb(gatewayUrl: string): Promise<WebServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [WEB_ENTRY], {
    env: webEnv(url, gatewayUrl),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`the web server exited (${child.exitCode}):\n${output}`);
    const healthy = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (attempt >= 100) throw new Error(`the web server did not answer /healthz within 10 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Chromium's headless shell; launch() gives every run a new, empty profile directory of its own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Collects what a clean page never shows: console errors (`allow` names expected ones, such as a
 * refused sign-in's 4xx in the network log), uncaught errors, and every Content-Security-Policy
 * violation, as the page's own `securitypolicyviolation` event reports it. Call before the first goto.
 */
export async function watchErrors(page: Page, allow?: RegExp): Promise<string[]> {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !allow?.test(message.text())) errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  // Reported through the console (an error no `allow` matches), not an exposed function: a binding costs a
  // round trip to the browser for every page.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(
        `CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber})`,
      );
    });
  });
  return errors;
}

/** Waits until the page has hydrated: its controls answer from here on (the root layout marks <html>). */
export async function hydrated(page: Page): Promise<void> {
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
}

/** Opens `url` and waits for hydration: use it before any interaction with a freshly loaded page. */
export async function open(page: Page, url: string): Promise<Response | null> {
  const response = await page.goto(url);
  await hydrated(page);
  return response;
}

/** Reloads and waits for hydration again. */
export async function reload(page: Page): Promise<Response | null> {
  const response = await page.reload();
  await hydrated(page);
  return response;
}

/**
 * The security headers every page the dashboard renders carries: a Content-Security-Policy whose
 * script-src is our origin plus this response's nonce, no framing, no sniffing, no referrer to others.
 */
export async function expectPageHeaders(response: Response | { headers(): Record<string, string> } | null): Promise<string> {
  const headers = response === null ? {} : 'allHeaders' in response ? await response.allHeaders() : response.headers();
  const policy = headers['content-security-policy'] ?? '';
  const directives = new Map(
    policy
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name as string, values]),
  );
  const scripts = directives.get('script-src') ?? [];
  expect(scripts[0]).toBe("'self'");
  expect(scripts.slice(1)).toEqual([expect.stringMatching(/^'nonce-[A-Za-z0-9+/=]{16,}'$/)]);
  expect(directives.get('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
  expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
  expect(directives.get('object-src')).toEqual(["'none'"]);
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('same-origin');
  return scripts[1] as string;
}

/** Signs a browser context in through the dashboard's own origin, as its sign-in form would (the cookie lands in the context). */
export async function signIn(context: BrowserContext, webUrl: string, email: string, password: string): Promise<void> {
  const response = await context.request.post(`${webUrl}/api/v1/login`, {
    data: { email, password },
    headers: { origin: webUrl },
  });
  if (response.status() !== 200) throw new Error(`signing in ${email} failed: ${response.status()} ${await response.text()}`);
}

/** What a signed-in context starts from: the session cookie of one sign-in, shared by the flows that need that role. */
export type SignedIn = Awaited<ReturnType<BrowserContext['storageState']>>;

/**
 * Signs each account in once (a sign-in costs a password hash on the gateway) and hands out its session as
 * a storage state for `browser.newContext({ storageState })`: every flow still gets a new context of its own.
 * A flow that needs a session of its own (ending it, or other sessions) signs in with `signIn` instead.
 */
export function sessions(browser: Browser, webUrl: string): (who: { email: string; password: string }) => Promise<SignedIn> {
  const signedIn = new Map<string, Promise<SignedIn>>();
  return (who) => {
    let state = signedIn.get(who.email);
    if (!state) {
      state = (async () => {
        const context = await browser.newContext();
        try {
          await signIn(context, webUrl, who.email, who.password);
          return await context.storageState();
        } finally {
          await context.close();
        }
      })();
      signedIn.set(who.email, state);
    }
    return state;
  };
}

/**
 * axe-core's browser build, as @axe-core/playwright itself resolves it (its own dependency, so the version
 * is the one it was made for).
 */
const AXE_SOURCE = readFileSync(
  createRequire(createRequire(import.meta.url).resolve('@axe-core/playwright')).resolve('axe-core/axe.min.js'),
  'utf8',
);

/** The part of axe's page API the check calls (window.axe once injected). */
interface AxeInPage {
  run(
    context: Document,
    options: { resultTypes: string[] },
  ): Promise<{ violations: { id: string; impact?: string | null; nodes: { target: unknown[] }[] }[] }>;
}

/**
 * Runs axe on the page as it is now and fails on every serious or critical violation, naming the rule and
 * the elements. Every rule axe enables by default runs (WCAG 2.0–2.2 A and AA, and its best practices), in
 * the page itself: the dashboard has no cross-origin frames to merge results from. axe is injected once
 * per document (through the debugging protocol, outside the page's Content-Security-Policy) and kept for
 * the next check, across client-side navigations too; @axe-core/playwright's builder evaluates all of
 * axe's 650 kB twice on every check, which was most of a check's time. Only the violations are built.
 */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  // Colours are measured as they are painted: an element still fading in (a row or badge a live event just
  // added) would be judged at a contrast it never keeps. Wait for the finite animations and transitions.
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((animation) => Number.isFinite(animation.effect?.getComputedTiming().endTime ?? Infinity))
        .map((animation) => animation.finished.catch(() => undefined)),
    ),
  );
  if (!(await page.evaluate('typeof window.axe?.run === "function"'))) {
    await page.evaluate(`${AXE_SOURCE};\naxe.configure({ allowedOrigins: ['<same_origin>'] });`);
  }
  const serious = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: AxeInPage }).axe;
    const { violations } = await axe.run(document, { resultTypes: ['violations'] });
    return violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map(
        (violation) =>
          `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
      );
  });
  expect(serious, `accessibility of ${where}`).toEqual([]);
}

/** One debugging-protocol session per page, for `capture`. */
const protocolSessions = new WeakMap<Page, Promise<CDPSession>>();

/**
 * A full-page PNG of the page as it is now, as `page.screenshot({ fullPage: true })` takes it (once the
 * fonts are in, from the document's top left, the whole scrollable size), but encoded with Chromium's
 * `optimizeForSpeed`: the PNG encoding was most of a screenshot's time, and this one takes about a quarter
 * of it for a file about a fifth larger.
 */
export async function capture(page: Page, path: string): Promise<void> {
  let session = protocolSessions.get(page);
  if (!session) {
    session = page.context().newCDPSession(page);
    protocolSessions.set(page, session);
  }
  const { width, height } = await page.evaluate(async () => {
    await document.fonts.ready;
    const root = document.documentElement;
    const body = document.body;
    return {
      width: Math.max(root.scrollWidth, root.offsetWidth, root.clientWidth, body.scrollWidth, body.offsetWidth),
      height: Math.max(root.scrollHeight, root.offsetHeight, root.clientHeight, body.scrollHeight, body.offsetHeight),
    };
  });
  const viewport = page.viewportSize() ?? DESKTOP;
  const { data } = await (
    await session
  ).send('Page.captureScreenshot', {
    format: 'png',
    optimizeForSpeed: true,
    captureBeyondViewport: width > viewport.width || height > viewport.height,
    clip: { x: 0, y: 0, width, height, scale: 1 },
  });
  writeFileSync(path, Buffer.from(data, 'base64'));
}

/**
 * A full-page screenshot at desktop width and at a 390 px phone's, into test-results/screenshots/; the
 * ones docs/ui.md shows are also copied to docs/images/ui/ by `npm run docs:screenshots`.
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  const size = page.viewportSize() ?? DESKTOP;
  // A picture committed to docs/ is compressed as tightly as Playwright does; the rest are only looked at.
  const forDocs = process.env.LLMOPS_DOCS_SCREENSHOTS === '1' && DOCS_SHOTS.has(name);
  const desktop = join(SCREENSHOTS, `${name}-desktop.png`);
  await page.setViewportSize(DESKTOP);
  await (forDocs ? page.screenshot({ path: desktop, fullPage: true }) : capture(page, desktop));
  await page.setViewportSize(PHONE);
  await capture(page, join(SCREENSHOTS, `${name}-phone.png`));
  await page.setViewportSize(size);
  if (forDocs) {
    mkdirSync(DOCS_IMAGES, { recursive: true });
    copyFileSync(join(SCREENSHOTS, `${name}-desktop.png`), join(DOCS_IMAGES, `${name}.png`));
  }
}
