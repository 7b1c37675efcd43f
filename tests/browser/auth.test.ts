/// <reference lib="dom" />
/**
 * Accounts in a real headless Chromium, through the built dashboard and a real gateway: the first-run
 * link creates the first admin and signs them in; the link works once; signing out and in again; a wrong
 * password is said so; the session cookie is httpOnly and SameSite=Lax; the forms post, so a submit
 * before hydration never puts the password in the address; every page carries its security headers
 * and shows no CSP violation; axe finds nothing serious on the setup and sign-in pages. Pages are used
 * only once hydrated (support.ts `open`). Screenshots go to test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayBuilder } from '@llmops/gateway/main';
import { setupLink } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import {
  capture,
  DESKTOP,
  expectAccessible,
  expectPageHeaders,
  launchBrowser,
  open,
  PHONE,
  SCREENSHOTS,
  startWeb,
  watchErrors,
  type WebServer,
} from './support.ts';
import { gatewayEnv } from './environment.ts';

/** A refused sign-in or a 422 is an expected 4xx in the network log; anything else is a fault. */
const EXPECTED_4XX = /status of 4\d\d/;

const db = await useTestDatabase();
const PASSWORD = 'a long enough password';

describe('signing in to the dashboard', () => {
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const env = gatewayEnv(db.urlFor('gateway'));
    [gateway, browser] = await Promise.all([runService('gateway', gatewayBuilder(env), { env }), launchBrowser()]);
    web = await startWeb(gateway.url);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
  });

  it('never puts a password in the address, even when the form is sent before the page has hydrated', async () => {
    // Without JavaScript the form is what a click before hydration submits: the browser's own submission.
    // Before the first admin exists, so the setup page shows its form.
    const setup = new URL((await setupLink(db.adminUrl, web.url))?.url as string);
    // Both forms at once, each in a context of its own.
    const noScript = async (path: string) => {
      const context = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false });
      const page = await context.newPage();
      await page.goto(`${web.url}${path}`);
      const form = page.locator('form');
      expect(await form.getAttribute('method')).toBe('post');
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('a secret that stays in the body');
      const sent = page.waitForRequest((request) => request.url().startsWith(`${web.url}${path.split('?')[0]}`));
      await page.getByRole('button', { name: /Sign in|Create admin/ }).click();
      const request = await sent;
      expect(request.method()).toBe('POST');
      expect(request.url()).not.toContain('secret');
      await context.close();
    };
    await Promise.all(['/login', `${setup.pathname}${setup.search}`].map(noScript));
  });

  it('creates the first admin from the one-time setup link, signed in at once; the link then no longer works', async () => {
    const link = await setupLink(db.adminUrl, web.url);
    expect(link?.url).toMatch(new RegExp(`^${web.url}/setup\\?code=[A-Za-z0-9_-]{40,}$`));
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = await watchErrors(page, EXPECTED_4XX);

    await expectPageHeaders(await open(page, link?.url as string));
    expect(await page.title()).toBe('Set up · LLM Ops');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Create the first admin');
    await capture(page, join(SCREENSHOTS, 'setup-desktop.png'));

    // A problem the gateway finds is shown next to its field.
    await page.getByLabel('Name').fill('Ada Admin');
    await page.getByLabel('Email').fill('not-an-email');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    // Said by the browser before anything is sent, beside the field, in plain words.
    await expect.poll(() => page.locator('#field-email-error').textContent()).toContain('email address');
    // The contract's "at least 12 characters", checked by the browser before sending.
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('too short');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await expect.poll(() => page.locator('#field-password-error').textContent()).toBe('Use at least 12 characters (this has 9).');
    expect(await page.locator('#field-email-error').count()).toBe(0);
    await expectAccessible(page, 'the setup page, with a field refused');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await page.waitForURL(`${web.url}/llm`);
    const account = page.locator('.account');
    await expect.poll(() => account.textContent()).toContain('Ada Admin');
    expect(await account.textContent()).toContain('admin');

    const cookie = (await context.cookies()).find((c) => c.name === 'llmops_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('llmops_session');
    await capture(page, join(SCREENSHOTS, 'signed-in-desktop.png'));

    // The same link again, from a browser that is not signed in: setup is done.
    const other = await browser.newPage({ viewport: PHONE });
    const otherErrors = await watchErrors(other);
    await open(other, link?.url as string);
    expect(await other.getByRole('heading', { level: 1 }).textContent()).toBe('Setup is done');
    await capture(other, join(SCREENSHOTS, 'setup-done-phone.png'));
    await other.close();
    expect(errors).toEqual([]);
    expect(otherErrors).toEqual([]);
    await context.close();
  });

  // With the admin made, the last three flows are independent (a context each, one session of its own at
  // most): they run side by side, each waiting on its own pages and password hashes while the others work.
  it.concurrent('says so when a setup link is wrong', async ({ expect }) => {
    const page = await browser.newPage({ viewport: PHONE });
    const errors = await watchErrors(page);
    await expectPageHeaders(await open(page, `${web.url}/setup?code=wrong`));
    // With an account present, the page says setup is done; the code is never even considered.
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toMatch(/Setup is done|This setup link does not work/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it.concurrent(
    'signs out, refuses a wrong password with a message, and signs in again; a return path to another site is ignored',
    async ({ expect }) => {
      const context = await browser.newContext({ viewport: DESKTOP });
      const page = await context.newPage();
      const errors = await watchErrors(page, EXPECTED_4XX);
      // A return path that leaves the dashboard is ignored: the reader lands on the overview.
      await expectPageHeaders(await open(page, `${web.url}/login?next=${encodeURIComponent('//evil.example/x')}`));
      expect(await page.title()).toBe('Sign in · LLM Ops');
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('wrong password!');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = page.getByRole('alert');
      await expect.poll(() => alert.textContent()).toContain('wrong');
      // The email typed stays; the password does not come back from the server.
      expect(await page.getByLabel('Email').inputValue()).toBe('ada@example.com');
      await expectAccessible(page, 'the sign-in page, refused');
      await capture(page, join(SCREENSHOTS, 'login-refused-desktop.png'));

      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${web.url}/llm`);
      await expect.poll(() => page.locator('.account').textContent()).toContain('Ada Admin');
      // Signed in, /login and /setup send the reader on, never to another site.
      await open(page, `${web.url}/login?next=${encodeURIComponent('https://evil.example/')}`);
      expect(page.url()).toBe(`${web.url}/llm`);
      await open(page, `${web.url}/setup?code=anything`);
      expect(new URL(page.url()).pathname).toBe('/llm');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${web.url}/login`);
      expect((await context.cookies()).find((c) => c.name === 'llmops_session')).toBeUndefined();
      await page.setViewportSize(PHONE);
      await capture(page, join(SCREENSHOTS, 'signed-out-phone.png'));
      expect(errors).toEqual([]);
      await context.close();
    },
  );

  it.concurrent('sends a visitor to sign in and back to where they were', async ({ expect }) => {
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = await watchErrors(page);
    // `/` is the overview, which needs a signed-in reader.
    await open(page, web.url);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/login');
    await open(page, `${web.url}/settings/tokens?cursor=x`);
    expect(page.url()).toBe(`${web.url}/login?next=${encodeURIComponent('/settings/tokens?cursor=x')}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    await open(page, `${web.url}/settings/tokens`);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${web.url}/settings/tokens`);
    expect(await page.getByRole('heading', { name: 'Your tokens' }).count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});
