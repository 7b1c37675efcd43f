/// <reference lib="dom" />
/**
 * The registry's pages and the admin pages in a real headless Chromium against the real gateway and
 * registry, with the provider emulator's models: a preset made through its editor (controls only for what
 * the chosen model takes, a refused image fallback said beside the list, the fallback order by keyboard
 * and by dragging), money as money, the audit log filtered by who and when, a real dead letter run again
 * and skipped, and the overview's live updates resuming after the gateway restarts (the event stream is
 * cut). One started system and one Chromium for the file, a new context per flow; axe on every page shown.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { publishMany } from '@llmops/kit/bus/index';
import { createPool, type Pool } from '@llmops/kit/db';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { queued } from '../gateway-events-support.ts';
import {
  DESKTOP,
  expectAccessible,
  launchBrowser,
  sessions,
  open,
  reload,
  SCREENSHOTS,
  screenshots,
  startWeb,
  watchErrors,
  type WebServer,
} from './support.ts';
import { gatewayEnv } from './environment.ts';

const db = await useTestDatabase();
const PASSWORD = 'a long enough password';
const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', role: 'admin' as const, password: PASSWORD };
const EDITOR = { email: 'eddie@example.com', name: 'Eddie Editor', role: 'editor' as const, password: PASSWORD };
/** A refusal the flow provokes on purpose shows in the network log as a 4xx. */
const EXPECTED_4XX = /status of 4\d\d/;

interface Model {
  id: string;
  provider_model_id: string;
}

describe('presets, money, the audit log, dead letters and live updates, signed in', () => {
  let stack: Stack;
  let gateway: RunningService;
  let gatewayPort = '0';
  let web: WebServer;
  let browser: Browser;
  let emulator: Emulator;
  let session: ReturnType<typeof sessions>;
  let admin: Pool;
  const models = new Map<string, Model>();

  function startGateway(port: string): Promise<RunningService> {
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: stack.secret,
      PORT: port,
      ...Object.fromEntries(Object.entries(stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    return runService('gateway', gatewayBuilder(env), { env });
  }

  /** A new context per flow, signed in as `who` (with one session per account, made on first use). */
  async function as(who: { email: string; password: string }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: await session(who) });
    // A control that never shows fails the step that waits for it, by name, well within the test's time.
    context.setDefaultTimeout(10_000);
    return { context, page: await context.newPage() };
  }

  /** Registers what the flows need through the public API, as an admin would (the UI flows for it are settings.test.ts'). */
  async function registerModels(): Promise<void> {
    const context = await browser.newContext({ storageState: await session(ADMIN) });
    const post = async (path: string, data: unknown) => {
      const response = await context.request.post(`${web.url}${path}`, { data, headers: { origin: web.url } });
      expect(response.status(), `${path}: ${await response.text()}`).toBeLessThan(300);
      return (await response.json()) as { id: string; items: Model[] };
    };
    const openai = await post('/api/v1/providers', {
      name: 'Local stand-in',
      kind: 'openai',
      base_url: emulator.baseUrl('openai'),
      api_key: 'sk-test-1234',
      monthly_spend_cap_usd: '25.5',
    });
    const anthropic = await post('/api/v1/providers', {
      name: 'Local Anthropic stand-in',
      kind: 'anthropic',
      base_url: emulator.baseUrl('anthropic'),
      api_key: 'sk-ant-test-1234',
    });
    // Ids of real model families (docs/model-rules.md) give the rules the editor follows; `force` imports
    // them although the emulator does not list them.
    const imported = [
      ...(
        await post(`/api/v1/providers/${openai.id}/models/import`, {
          models: [
            { provider_model_id: 'emu-gpt-small', price: { input_per_mtok: '0.15', output_per_mtok: '0.6' } },
            { provider_model_id: 'emu-gpt-large' },
            { provider_model_id: 'emu-image', modality: 'image' },
            { provider_model_id: 'o4-mini' },
          ],
          force: true,
        })
      ).items,
      ...(
        await post(`/api/v1/providers/${anthropic.id}/models/import`, {
          models: [{ provider_model_id: 'claude-sonnet-4-5' }],
          force: true,
        })
      ).items,
    ];
    for (const model of imported) models.set(model.provider_model_id, model);
    await context.close();
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [stack, browser, emulator] = await Promise.all([
      startStack({ db, services: ['registry'] }),
      launchBrowser(),
      startEmulator(),
    ]);
    admin = createPool({ connectionString: db.adminUrl, applicationName: 'test-admin', max: 2 });
    gateway = await startGateway('0');
    gatewayPort = new URL(gateway.url).port;
    [web] = await Promise.all([
      startWeb(gateway.url),
      createAccountAsOperator(db.adminUrl, ADMIN),
      createAccountAsOperator(db.adminUrl, EDITOR),
    ]);
    session = sessions(browser, web.url);
    await registerModels();
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await Promise.all([stack?.stop(), emulator?.stop(), admin?.end()]);
  });

  it('makes a preset with a fallback: controls follow the model’s rules, an image fallback is refused beside the list', async () => {
    const { context, page } = await as(ADMIN);
    const errors = await watchErrors(page, EXPECTED_4XX);
    await open(page, `${web.url}/llm/presets`);
    expect(await page.getByRole('heading', { name: 'No presets yet' }).count()).toBe(1);
    await expectAccessible(page, 'the presets page, empty');
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
    const { context, page } = await as(ADMIN);
    const errors = await watchErrors(page);
    await open(page, `${web.url}/llm/models`);
    const priced = page.getByRole('row', { name: /emu-gpt-small/ });
    expect(await priced.getByRole('cell').allTextContents()).toEqual(expect.arrayContaining(['$0.15', '$0.60']));
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
    const { context, page } = await as(ADMIN);
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
    // An audit event that breaks its contract (as from a producer with an older one): the gateway's
    // audit consumer gives up on it at once. Written outside a publishing transaction, no doorbell rings:
    // the consumer's sweep finds it (each wait below allows 10 s).
    await admin.query(
      `INSERT INTO bus.outbox (event_id, topic, key, payload) VALUES (gen_random_uuid(), 'audit.change.recorded', 'dead-letter-test', '{"broken":true}')`,
    );
    const { context, page } = await as(ADMIN);
    const errors = await watchErrors(page);
    await open(page, `${web.url}/settings/dead-letters`);
    const letter = page.getByRole('row', { name: /gateway\.audit-log/ });
    await expect
      .poll(
        async () => {
          await reload(page);
          return letter.count();
        },
        { timeout: 10_000, interval: 250 },
      )
      .toBe(1);
    expect(await letter.textContent()).toContain('(1 attempts)');
    await expectAccessible(page, 'a dead letter');
    await screenshots(page, 'settings-dead-letter');

    await letter.getByRole('button', { name: 'Run again' }).click();
    await expect.poll(() => page.locator('p[role="status"]').textContent()).toBe('Scheduled to run again.');
    const audited = async (action: string) =>
      ((await (await page.request.get(`${web.url}/api/v1/audit?action=${action}`)).json()) as { items: unknown[] }).items.length;
    expect(await audited('dead_letter.replayed')).toBe(1);
    // It is still broken: the consumer gives up on it again, and it is back in the list.
    await expect
      .poll(
        async () => {
          await reload(page);
          return letter.count();
        },
        { timeout: 10_000, interval: 250 },
      )
      .toBe(1);

    await letter.getByRole('button', { name: 'Skip' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Skip event' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'No dead letters' }).count()).toBe(1);
    const { rows } = await admin.query(`SELECT 1 FROM bus.parked WHERE key = 'dead-letter-test'`);
    expect(rows).toEqual([]);
    expect(await audited('dead_letter.skipped')).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('resumes the overview’s live updates after the event stream is cut by a gateway restart', async () => {
    const { context, page } = await as(EDITOR);
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content-Security-Policy')) violations.push(message.text());
    });
    const streaming = page.waitForResponse((response) => response.url().includes('/api/v1/events') && response.status() === 200);
    await open(page, `${web.url}/llm`);
    await streaming;
    const runIt = page.getByRole('region', { name: 'Get started' }).locator('li').filter({ hasText: 'Run it' });
    expect(await runIt.textContent()).not.toContain('Done.');

    const indicator = page.getByText('Reconnecting to live updates').first();
    await gateway.stop('test: restart');
    await expect.poll(() => indicator.isVisible(), { timeout: 10_000 }).toBe(true);
    gateway = await startGateway(gatewayPort);
    await expect.poll(() => indicator.count(), { timeout: 20_000 }).toBe(0);

    // A task is queued after the restart: the reopened stream brings it, and the guide ticks its last step.
    await publishMany(admin, [queued(1)]);
    await expect.poll(() => runIt.textContent(), { timeout: 10_000 }).toContain('Done.');
    await expectAccessible(page, 'the overview after a restart');
    expect(violations).toEqual([]);
    await context.close();
  });
});
