/// <reference lib="dom" />
/**
 * The signed-in dashboard on an empty installation, in a real headless Chromium against the real gateway,
 * registry, prompt service and runner: the first-run overview ticked from real data, honest empty states,
 * changing your own password (your other sessions end, this one stays), making an API token (shown once)
 * and revoking it, what a viewer sees and is refused, keyboard shortcuts. axe runs on every page shown
 * (no serious or critical violations) and each page is photographed at desktop and phone width.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import {
  DESKTOP,
  expectAccessible,
  launchBrowser,
  sessions,
  open,
  reload,
  SCREENSHOTS,
  screenshots,
  signIn,
  startWeb,
  watchErrors,
  type WebServer,
} from './support.ts';
import { gatewayEnv } from './environment.ts';

const db = await useTestDatabase();
const PASSWORD = 'a long enough password';
const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', role: 'admin' as const, password: PASSWORD };
const VIEWER = { email: 'vic@example.com', name: 'Vic Viewer', role: 'viewer' as const, password: PASSWORD };
/** A refusal the flow provokes on purpose shows in the network log as a 4xx. */
const EXPECTED_4XX = /status of 4\d\d/;

describe('settings and the overview, signed in', () => {
  let stack: Stack;
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;
  let emulator: Emulator;
  let session: ReturnType<typeof sessions>;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [stack, browser, emulator] = await Promise.all([
      startStack({ db, services: ['registry', 'prompt', 'runner'] }),
      launchBrowser(),
      startEmulator(),
    ]);
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: stack.secret,
      ...Object.fromEntries(Object.entries(stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    gateway = await runService('gateway', gatewayBuilder(env), { env });
    [web] = await Promise.all([
      startWeb(gateway.url),
      createAccountAsOperator(db.adminUrl, ADMIN),
      createAccountAsOperator(db.adminUrl, VIEWER),
    ]);
    session = sessions(browser, web.url);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await Promise.all([stack?.stop(), emulator?.stop()]);
  });

  /** A new context per flow, signed in as `who` (with one session per account, made on first use). */
  async function as(who: { email: string; password: string }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: await session(who) });
    return { context, page: await context.newPage() };
  }

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
        await expectAccessible(tokens, 'the tokens page');
      })(),
      (async () => {
        await open(deadLetters, `${web.url}/settings/dead-letters`);
        expect(await deadLetters.getByRole('heading', { name: 'No dead letters' }).count()).toBe(1);
        await expectAccessible(deadLetters, 'the dead letters page');
      })(),
    ]);

    expect(errors.flat()).toEqual([]);
    await context.close();
  });

  it('filters the audit log from the address, and the back button keeps the filters', async () => {
    const { context, page } = await as(ADMIN);
    const errors = await watchErrors(page);
    // The audit log holds the accounts made for this test; a filter that matches nothing says so, from the URL.
    await open(page, `${web.url}/settings/audit`);
    expect(await page.getByRole('cell', { name: 'account.created' }).count()).toBe(2);
    await page.getByLabel('Action').fill('provider.created');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(`${web.url}/settings/audit?action=provider.created&service=&resource_type=&actor_id=&since=&until=`);
    expect(await page.getByRole('heading', { name: 'Nothing matches these filters' }).count()).toBe(1);
    await page.goBack();
    await expect.poll(() => page.getByRole('cell', { name: 'account.created' }).count()).toBe(2);
    await expectAccessible(page, 'the audit log');
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
    await page.getByRole('alertdialog', { name: 'Disable Lin Editor?' }).getByRole('button', { name: 'Disable account' }).click();
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
    await expectAccessible(page, 'a model');
    await screenshots(page, 'model-prices');

    // The overview ticks the first two steps from what now exists.
    await open(page, `${web.url}/llm`);
    expect(await page.getByRole('region', { name: 'Get started' }).textContent()).toContain('2 of 4 done');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('changes your own password: a wrong current one is said beside its field; other sessions end, this one stays', async () => {
    const me = { email: 'pat@example.com', name: 'Pat Editor', role: 'editor' as const, password: PASSWORD };
    await createAccountAsOperator(db.adminUrl, me);
    // Two sessions of its own: the change ends the other one.
    const signedInTwice = async () => {
      const context = await browser.newContext({ viewport: DESKTOP });
      await signIn(context, web.url, me.email, me.password);
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
    await expectAccessible(page, 'the tokens page with a token');
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
    // The workflow's configuration is readable by all (tests/browser/workflow-admin.test.ts); the accounts,
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
