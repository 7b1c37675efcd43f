/// <reference lib="dom" />
/**
 * The runner pages in a real headless Chromium against the real gateway, registry, prompt service and
 * runner, with the provider emulator as the models' provider: a task run from /llm/run whose text streams
 * in through the live layer before the cost appears; three models side by side; a running task cancelled;
 * a failed task (an emulator fault) retried on another model from its record; two tasks compared; the
 * history's filters kept in the address across a reload; the filtered list exported as CSV and JSON. axe
 * runs on every page shown; the runner and the history are photographed at desktop and phone width.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startRunnerHarness, type RunnerHarness } from '../runner-support.ts';
import {
  DESKTOP,
  expectAccessible,
  launchBrowser,
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
const EDITOR = { email: 'eve@example.com', name: 'Eve Editor', role: 'editor' as const, password: 'a long enough password' };
const PRICE = { input_per_mtok: '1.50', output_per_mtok: '2.50' };

describe('the runner, history and compare', () => {
  let harness: RunnerHarness;
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;
  let emulator: Emulator;
  const models: Record<'small' | 'large' | 'claude', { provider: string; model: string }> = {} as never;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    emulator = await startEmulator();
    [harness, browser] = await Promise.all([startRunnerHarness(db, emulator), launchBrowser()]);
    models.small = await harness.provider({ model: 'emu-gpt-small', price: PRICE });
    models.large = await harness.provider({ model: 'emu-gpt-large', price: PRICE });
    models.claude = await harness.provider({ protocol: 'anthropic', model: 'emu-claude-fast', price: PRICE });
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: harness.stack.secret,
      ...Object.fromEntries(Object.entries(harness.stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    gateway = await runService('gateway', gatewayBuilder(env), { env });
    [web] = await Promise.all([startWeb(gateway.url), createAccountAsOperator(db.adminUrl, EDITOR)]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await Promise.all([harness?.stop(), emulator?.stop()]);
  });

  async function signedIn(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: DESKTOP });
    await signIn(context, web.url, EDITOR.email, EDITOR.password);
    const page = await context.newPage();
    const errors = await watchErrors(page);
    return { context, page, errors };
  }

  async function runMessage(page: Page, text: string, modelNames: string[]): Promise<void> {
    await open(page, `${web.url}/llm/run`);
    await page.getByLabel('My own messages').check();
    await page.getByLabel('User message').fill(text);
    for (const name of modelNames) await page.getByRole('checkbox', { name }).check();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
  }

  it('runs a task: the text streams in, then the cost appears', async () => {
    const { context, page, errors } = await signedIn();
    // Before any task, the overview's first-run guide leads to the runner.
    await open(page, `${web.url}/llm`);
    const guide = page.getByRole('region', { name: 'Get started' });
    expect(await guide.getByRole('link', { name: 'Run it' }).getAttribute('href')).toBe('/llm/run');
    // No usage yet: the charts' place says so and where to start.
    expect(await page.getByTestId('no-usage').textContent()).toContain('no usage to chart yet');
    expect(await page.getByTestId('no-active').count()).toBe(1);
    emulator.fault({ match: 'STREAM-SLOWLY', chunkDelayMs: 150, times: 1 });
    await runMessage(page, 'STREAM-SLOWLY one two three four five six seven eight', ['emu-gpt-small']);
    const column = page.getByRole('article', { name: 'Output of emu-gpt-small' });
    const output = column.locator('[data-output]');
    // Part of the reply is on screen while the task still runs (the emulator sends a word every 150 ms).
    await expect.poll(() => output.textContent(), { timeout: 15_000 }).toMatch(/You said/);
    expect(await column.getByText('Running').count()).toBe(1);
    expect(await column.locator('[data-stat="cost"]').textContent()).toBe('—');
    await column.getByText('Succeeded').waitFor({ timeout: 20_000 });
    expect(await output.textContent()).toContain('seven eight');
    await expect.poll(() => column.locator('[data-stat="cost"]').textContent()).toMatch(/^\$\d/);
    expect(await column.locator('[data-stat="ttft"]').textContent()).toMatch(/\d+ (ms|s)/);
    await expectAccessible(page, 'the runner with an output');
    await screenshots(page, 'runner-output');

    await column.getByRole('link', { name: "Open the task's record" }).click();
    await page.getByRole('heading', { name: 'Messages sent' }).waitFor();
    expect(await page.locator('[data-output]').textContent()).toContain('seven eight');
    expect(await page.getByRole('heading', { name: 'The exact request' }).count()).toBe(1);
    expect(await page.locator('pre.wire').textContent()).toContain('/chat/completions');
    await expectAccessible(page, "a task's record");
    await screenshots(page, 'task-record');
    expect(errors).toEqual([]);
    await context.close();
    // Its own waits allow 35 s: the first page loads of the file come first.
  }, 60_000);

  it("fills a published template's inputs in a form made from its variables, previews them live, then runs it", async () => {
    const created = await harness.call('prompt', 'POST', '/api/v1/templates', {
      name: 'Topic note',
      variables: [
        { name: 'topic', type: 'string' },
        { name: 'lines', type: 'number' },
        { name: 'tags', type: 'list' },
        { name: 'brief', type: 'boolean', required: false, default: false },
      ],
      messages: [
        {
          role: 'user',
          entries: [
            {
              type: 'text',
              text: 'Write a note about {{ topic }} in {{ lines }} lines{% if brief %}, briefly{% endif %}. Tags: {{ tags | join: ", " }}.',
            },
          ],
        },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const published = await harness.call('prompt', 'POST', `/api/v1/templates/${created.body.id}/publish`, { message: 'v1' });
    expect(published.status, JSON.stringify(published.body)).toBe(201);

    const { context, page, errors } = await signedIn();
    await open(page, `${web.url}/llm/run`);
    await page.getByLabel('Template', { exact: true }).selectOption({ label: 'Topic note (v1)' });
    // One typed control per declared variable; the preview says what is missing before anything is typed.
    await page.getByLabel(/^topic/).waitFor();
    expect(await page.getByLabel(/^lines/).getAttribute('type')).toBe('number');
    expect(await page.getByLabel(/^brief/).evaluate((element) => element.tagName)).toBe('SELECT');
    const preview = page.getByRole('region', { name: 'Preview' });
    await expect.poll(() => preview.getByTestId('preview-summary').textContent()).toMatch(/problems? to fix/);
    await page.getByLabel(/^topic/).fill('sourdough');
    await page.getByLabel(/^lines/).fill('3');
    await page.getByRole('button', { name: 'Add an item to tags' }).click();
    await page.getByLabel('tags, item 1').fill('bread');
    await page.getByRole('button', { name: 'Add an item to tags' }).click();
    await page.getByLabel('tags, item 2').fill('baking');
    await page.getByLabel(/^brief/).selectOption('true');
    // The preview follows the inputs as they are typed: no button to press.
    await expect
      .poll(() => preview.getByTestId('rendered-message').textContent(), { timeout: 10_000 })
      .toContain('Write a note about sourdough in 3 lines, briefly. Tags: bread, baking.');
    expect(await page.getByRole('button', { name: 'Preview' }).count()).toBe(0);
    await expectAccessible(page, "the runner with a template's inputs");
    await screenshots(page, 'runner-template-inputs');
    await page.getByRole('checkbox', { name: 'emu-gpt-small' }).check();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const column = page.getByRole('article', { name: 'Output of emu-gpt-small' });
    await column.getByText('Succeeded').waitFor({ timeout: 20_000 });
    expect(await column.locator('[data-output]').textContent()).toContain('Write a note about sourdough in 3 lines, briefly.');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('runs three models side by side', async () => {
    const { context, page, errors } = await signedIn();
    await runMessage(page, 'Side by side, please', ['emu-gpt-small', 'emu-gpt-large', 'emu-claude-fast']);
    const columns = page.getByRole('article');
    await expect.poll(() => columns.count()).toBe(3);
    for (const name of ['emu-gpt-small', 'emu-gpt-large', 'emu-claude-fast']) {
      const column = page.getByRole('article', { name: `Output of ${name}` });
      await column.getByText('Succeeded').waitFor({ timeout: 20_000 });
      expect(await column.locator('[data-output]').textContent()).toContain('You said');
    }
    await expectAccessible(page, 'three outputs side by side');
    await screenshots(page, 'runner-three-models');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('cancels a running task', async () => {
    const { context, page, errors } = await signedIn();
    emulator.fault({ match: 'NEVER-FINISHES', chunkDelayMs: 2_000, times: 1 });
    await runMessage(page, 'NEVER-FINISHES a b c d e f g h i j k l m n o p', ['emu-gpt-large']);
    const column = page.getByRole('article', { name: 'Output of emu-gpt-large' });
    await column.getByText('Running').waitFor({ timeout: 15_000 });
    await column.getByRole('button', { name: 'Cancel' }).click();
    await column.getByText('Cancelled').waitFor({ timeout: 15_000 });
    expect(await column.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('retries a failed task on another model from its record', async () => {
    // The small model refuses this request for good (a 400 is not retried); the large one answers it.
    emulator.fault({ model: 'emu-gpt-small', match: 'RETRY-ELSEWHERE', status: 400 });
    const created = await harness.createTask({
      messages: [{ role: 'user', content: 'RETRY-ELSEWHERE please' }],
      model_id: models.small.model,
    });
    const failedId = created.tasks[0].id as string;
    await harness.waitFor(failedId, ['failed']);

    const { context, page, errors } = await signedIn();
    // The failed task's own request shows in the network log as the 4xx the emulator answered: not ours.
    await open(page, `${web.url}/llm/tasks/${failedId}`);
    expect(await page.getByText('Failed').first().textContent()).toContain('Failed');
    expect(await page.getByRole('alert').first().textContent()).toContain('bad_request');
    await expectAccessible(page, 'a failed task');
    await page.getByLabel('On model').selectOption({ label: 'emu-gpt-large' });
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/llm/tasks/') && !url.pathname.endsWith(failedId));
    await page.getByText('Succeeded').first().waitFor({ timeout: 20_000 });
    expect(await page.getByRole('link', { name: failedId.slice(-8) }).count()).toBe(1);
    expect(await page.locator('[data-output]').textContent()).toContain('RETRY-ELSEWHERE');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('compares two tasks', async () => {
    const [a, b] = await Promise.all([
      harness.createTask({ messages: [{ role: 'user', content: 'Compare me: left' }], model_id: models.small.model }),
      harness.createTask({ messages: [{ role: 'user', content: 'Compare me: right' }], model_id: models.large.model }),
    ]);
    const left = a.tasks[0].id as string;
    const right = b.tasks[0].id as string;
    await Promise.all([harness.waitFor(left, ['succeeded']), harness.waitFor(right, ['succeeded'])]);

    const { context, page, errors } = await signedIn();
    await open(page, `${web.url}/llm/tasks`);
    await page.locator(`input[name="id"][value="${left}"]`).check();
    await page.locator(`input[name="id"][value="${right}"]`).check();
    await page.getByRole('button', { name: 'Compare the two ticked' }).click();
    await page.getByRole('heading', { name: 'Compare two tasks' }).waitFor();
    const outputs = page.getByRole('table', { name: 'Outputs, left and right' });
    expect(await outputs.textContent()).toContain('Compare me: left');
    expect(await outputs.textContent()).toContain('Compare me: right');
    expect(await page.locator('[data-stat="cost"]').count()).toBe(2);
    expect(await page.locator('[data-stat="cost"]').first().textContent()).toMatch(/^\$/);
    expect(await page.locator('[data-stat="latency"]').first().textContent()).toMatch(/\d/);
    await expectAccessible(page, 'the comparison');
    await screenshots(page, 'tasks-compare');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('keeps the history filters across a reload, and exports the filtered list', async () => {
    const { context, page, errors } = await signedIn();
    await open(page, `${web.url}/llm/tasks`);
    await expectAccessible(page, 'the history');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=failed/);
    await reload(page);
    expect(await page.getByLabel('Status').inputValue()).toBe('failed');
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    const shown = await rows.count();
    expect(await page.locator('tbody').getByText('Succeeded').count()).toBe(0);
    await screenshots(page, 'tasks-history');

    const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(csvHref).toContain('status=failed');
    const csv = await context.request.get(`${web.url}${csvHref}`);
    expect(csv.headers()['content-type']).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toContain('cost_usd');
    expect(lines.length - 1).toBe(shown);
    expect(lines.slice(1).every((line) => line.includes(',failed,'))).toBe(true);

    const jsonHref = await page.getByRole('link', { name: 'Export JSON' }).getAttribute('href');
    const json = (await (await context.request.get(`${web.url}${jsonHref}`)).json()) as { tasks: { status: string }[] };
    expect(json.tasks.length).toBe(shown);
    expect(json.tasks.every((task) => task.status === 'failed')).toBe(true);

    await open(page, `${web.url}/llm/run`);
    await expectAccessible(page, 'the runner');
    await screenshots(page, 'runner');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows the tasks running now live on the overview, and charts the real usage', async () => {
    const { context, page, errors } = await signedIn();
    await open(page, `${web.url}/llm`);
    const running = page.getByRole('region', { name: 'Running now' });
    // A task started elsewhere appears while it runs, and leaves the list when it ends (task events reload it).
    emulator.fault({ match: 'OVERVIEW-LIVE', chunkDelayMs: 400, times: 1 });
    const created = await harness.createTask({
      messages: [{ role: 'user', content: 'OVERVIEW-LIVE one two three four five six' }],
      model_id: models.large.model,
    });
    const id = created.tasks[0].id as string;
    const item = running.getByTestId('active-tasks').getByRole('link', { name: `Task …${id.slice(-8)}` });
    await item.waitFor({ timeout: 15_000 });
    await harness.waitFor(id, ['succeeded']);
    await expect.poll(() => item.count(), { timeout: 15_000 }).toBe(0);

    // The charts: today's cost, tokens and tasks by model, from the tasks this file ran.
    const usage = page.getByRole('region', { name: /^Usage, last 30 days/ });
    const cost = usage.getByRole('figure', { name: 'Cost per day by model' });
    await cost.locator('canvas').first().waitFor();
    const legend = cost.getByRole('list', { name: 'Cost per day by model: totals' });
    for (const name of ['emu-gpt-small', 'emu-gpt-large', 'emu-claude-fast'])
      expect(await legend.getByRole('listitem').filter({ hasText: name }).textContent()).toMatch(/\$\d/);
    await cost.getByText('Cost per day by model as a table').click();
    const today = new Date().toISOString().slice(0, 10);
    expect(await cost.getByRole('row', { name: new RegExp(`^${today}`) }).count()).toBe(1);
    expect(await usage.getByRole('figure', { name: 'Tasks per day by model' }).count()).toBe(1);
    expect(await usage.getByRole('figure', { name: 'Tokens per day by model' }).count()).toBe(1);
    await expectAccessible(page, 'the overview with usage');
    await screenshots(page, 'overview-usage');

    // Split by provider instead: the address keeps it.
    await usage.getByLabel('Split by').selectOption('provider');
    await usage.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/split=provider/);
    const byProvider = page.getByRole('figure', { name: 'Cost per day by provider' });
    await byProvider.locator('canvas').first().waitFor();
    expect(await byProvider.getByRole('listitem').count()).toBe(3);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
