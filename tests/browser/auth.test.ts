/// <reference lib="dom" />
/**
 * Accounts in a real headless Chromium, through the built dashboard and a real gateway: the first-run
 * link creates the first admin and signs them in; the link works once; signing out and in again; a wrong
 * password is said so; the session cookie is httpOnly and SameSite=Lax. Screenshots go to
 * test-results/screenshots/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayBuilder } from '@llmops/gateway/main';
import { setupLink } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { freePort } from '@llmops/kit/testing/database';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { gatewayEnv, webEnv } from './environment.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB_ENTRY = join(ROOT, 'web/build/index.js');
const SCREENSHOTS = join(ROOT, 'test-results/screenshots');
const CHROMIUM = '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

if (!existsSync(WEB_ENTRY)) throw new Error(`${WEB_ENTRY} is missing: build the dashboard first with \`npm run build -w web\``);
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);

async function startWeb(gatewayUrl: string): Promise<{ url: string; stop: () => Promise<void> }> {
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
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    // A refused sign-in or a 422 is an expected 4xx in the network log; anything else is a fault.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) errors.push(message.text());
  });
  return errors;
}

const db = await useTestDatabase();
const PASSWORD = 'a long enough password';

describe('signing in to the dashboard', () => {
  let gateway: RunningService;
  let web: { url: string; stop: () => Promise<void> };
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const env = gatewayEnv(db.urlFor('gateway'));
    [gateway, browser] = await Promise.all([
      runService('gateway', gatewayBuilder(env), { env }),
      chromium.launch({
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
      }),
    ]);
    web = await startWeb(gateway.url);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
  });

  it('creates the first admin from the one-time setup link, signed in at once; the link then no longer works', async () => {
    const link = await setupLink(db.adminUrl, web.url);
    expect(link?.url).toMatch(new RegExp(`^${web.url}/setup\\?code=[A-Za-z0-9_-]{40,}$`));
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = watchErrors(page);

    await page.goto(link?.url as string);
    expect(await page.title()).toBe('Set up · LLM Ops');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Create the first admin');
    await page.screenshot({ path: join(SCREENSHOTS, 'setup-desktop.png'), fullPage: true });

    // A problem the gateway finds is shown next to its field.
    await page.getByLabel('Name').fill('Ada Admin');
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await expect.poll(() => page.locator('#field-email-error').textContent()).toContain('email address');

    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await page.waitForURL(`${web.url}/`);
    const account = page.locator('.account');
    await expect.poll(() => account.textContent()).toContain('Ada Admin');
    expect(await account.textContent()).toContain('admin');

    const cookie = (await context.cookies()).find((c) => c.name === 'llmops_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('llmops_session');
    await page.screenshot({ path: join(SCREENSHOTS, 'signed-in-desktop.png'), fullPage: true });

    // The same link again, from a browser that is not signed in: setup is done.
    const other = await browser.newPage({ viewport: PHONE });
    await other.goto(link?.url as string);
    expect(await other.getByRole('heading', { level: 1 }).textContent()).toBe('Setup is done');
    await other.screenshot({ path: join(SCREENSHOTS, 'setup-done-phone.png'), fullPage: true });
    await other.close();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('says so when a setup link is wrong', async () => {
    const page = await browser.newPage({ viewport: PHONE });
    await page.goto(`${web.url}/setup?code=wrong`);
    // With an account present, the page says setup is done; the code is never even considered.
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toMatch(/Setup is done|This setup link does not work/);
    await page.close();
  });

  it('signs out, refuses a wrong password with a message, and signs in again', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${web.url}/login`);
    expect(await page.title()).toBe('Sign in · LLM Ops');
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('wrong');
    await page.screenshot({ path: join(SCREENSHOTS, 'login-refused-desktop.png'), fullPage: true });

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.url}/`);
    await expect.poll(() => page.locator('.account').textContent()).toContain('Ada Admin');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${web.url}/login`);
    expect((await context.cookies()).find((c) => c.name === 'llmops_session')).toBeUndefined();
    // Signed out, the overview offers to sign in.
    await page.goto(web.url);
    expect(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/login');
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, 'signed-out-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });
});
