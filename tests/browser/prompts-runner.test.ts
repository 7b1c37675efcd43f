/// <reference lib="dom" />
/**
 * Where editors spend their day, in a real headless Chromium against the real gateway, registry, prompt
 * service and runner, with the provider emulator as the models' provider, on one started system (each
 * account signed in once).
 *
 * Prompt assembly: parts written in the Liquid editor (its live list of variables), published after their
 * impact is shown; a template assembled from them by drag and by keyboard, previewed with typed inputs, a
 * problem shown at its entry and fixed, published twice, two versions diffed, and labels set and moved (the
 * protected `production` asks for confirmation); the lists reloaded live when something is published
 * elsewhere.
 *
 * The runner: a task run from /llm/run whose text streams in through the live layer before the cost
 * appears; a template's inputs in a form made from its variables; three models side by side; a running task
 * cancelled; a failed task (an emulator fault) retried on another model from its record; two tasks
 * compared; the history's filters kept in the address across a reload; the filtered list exported as CSV
 * and JSON; the overview's live tasks and usage charts.
 *
 * The prompt flows come first: they start from no parts and no templates. axe runs on every page shown;
 * each is photographed at desktop and phone width.
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
  hydrated,
  launchBrowser,
  open,
  reload,
  SCREENSHOTS,
  screenshots,
  sessions,
  startWeb,
  watchErrors,
  type SignedIn,
  type WebServer,
} from './support.ts';
import { gatewayEnv } from './environment.ts';

const db = await useTestDatabase();
const PASSWORD = 'a long enough password';
const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', role: 'admin' as const, password: PASSWORD };
const EDITOR = { email: 'eve@example.com', name: 'Eve Editor', role: 'editor' as const, password: PASSWORD };
const PRICE = { input_per_mtok: '1.50', output_per_mtok: '2.50' };
/** expect.poll with room for a loaded machine (two cores shared by every test worker). */
const eventually = <T>(fn: () => T | Promise<T>, options: { timeout?: number } = {}) =>
  expect.poll(fn, { timeout: 15_000, ...options });
/** The preview refuses nothing, but a confirmation the flow asks for on purpose shows as a 428 in the log. */
const EXPECTED_4XX = /status of 4\d\d/;

describe('prompt assembly, the runner, history and compare', () => {
  let harness: RunnerHarness;
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;
  let emulator: Emulator;
  let signedIn: (who: { email: string; password: string }) => Promise<SignedIn>;
  const models: Record<'small' | 'large' | 'claude', { provider: string; model: string }> = {} as never;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    emulator = await startEmulator();
    [harness, browser] = await Promise.all([startRunnerHarness(db, emulator), launchBrowser()]);
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: harness.stack.secret,
      ...Object.fromEntries(Object.entries(harness.stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    gateway = await runService('gateway', gatewayBuilder(env), { env });
    [web, models.small, models.large, models.claude] = await Promise.all([
      startWeb(gateway.url),
      harness.provider({ model: 'emu-gpt-small', price: PRICE }),
      harness.provider({ model: 'emu-gpt-large', price: PRICE }),
      harness.provider({ protocol: 'anthropic', model: 'emu-claude-fast', price: PRICE }),
      createAccountAsOperator(db.adminUrl, ADMIN),
      createAccountAsOperator(db.adminUrl, EDITOR),
    ]);
    // Each account signs in once (a password hash each); every flow gets a new context from its session.
    signedIn = sessions(browser, web.url);
    await Promise.all([signedIn(ADMIN), signedIn(EDITOR)]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await Promise.all([harness?.stop(), emulator?.stop()]);
  });

  async function newPart(page: Page, kind: string, name: string, text: string): Promise<void> {
    await open(page, `${web.url}/llm/parts/new`);
    const form = page.getByRole('form', { name: 'New prompt part' });
    await form.getByLabel('Kind').selectOption(kind);
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Text').fill(text);
    await form.getByRole('button', { name: 'Create part' }).click();
    await page.waitForURL(/\/llm\/parts\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { level: 1, name }).waitFor();
  }

  async function publish(page: Page, formName: string, message: string): Promise<void> {
    const form = page.getByRole('form', { name: formName });
    await form.getByLabel('What changed').fill(message);
    await form.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(/published=\d+/);
    await page
      .getByRole('status')
      .filter({ hasText: /Published version \d+\./ })
      .waitFor();
    await hydrated(page);
  }

  const entryNames = (page: Page, message: number) =>
    page
      .getByTestId('message')
      .nth(message)
      .getByTestId('entry')
      .evaluateAll((entries) => entries.map((entry) => entry.querySelector('.part-name')?.textContent?.trim()));

  it('writes parts, assembles a template by drag and keyboard, previews, publishes, diffs and moves labels', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: await signedIn(ADMIN) });
    const page = await context.newPage();
    const errors = await watchErrors(page, EXPECTED_4XX);

    // An empty list says what a part is and offers to write one.
    await open(page, `${web.url}/llm/parts`);
    expect(await page.getByRole('heading', { name: 'No prompt parts yet' }).count()).toBe(1);
    await expectAccessible(page, 'the empty parts list');

    // A part: the editor lists the variables it reads as you type; the impact is shown before publishing.
    await newPart(page, 'style', 'House style', 'Write in a {{ tone }} voice.');
    const variables = page.getByRole('complementary', { name: 'Variables it uses' });
    await eventually(() => variables.textContent()).toContain('tone');
    // The CodeMirror editor (loaded on this page only) in place of the plain textarea.
    const editor = page.getByTestId('liquid-editor').getByRole('textbox', { name: 'Part text' });
    await editor.click();
    await page.keyboard.press('End');
    await page.keyboard.type(' Mention {{ blog.name }}.');
    await eventually(() => variables.textContent()).toContain('blog.name');
    expect(await page.getByText('Unsaved changes: save the draft before publishing.').count()).toBe(1);
    await page.getByRole('form', { name: 'Edit the draft' }).getByRole('button', { name: 'Save draft' }).click();
    await eventually(() => page.getByText('Unsaved changes: save the draft before publishing.').count()).toBe(0);
    await eventually(() => page.getByTestId('impact').textContent()).toContain('Publishing makes version 1');
    expect(await page.getByTestId('impact').textContent()).toContain('No published template version uses this part.');
    await expectAccessible(page, 'a part being edited');
    await screenshots(page, 'prompts-part-editor');
    await publish(page, 'Publish the draft', 'First house style');
    expect(await page.getByRole('status').filter({ hasText: 'Published version 1.' }).count()).toBe(1);
    expect(await page.getByRole('cell', { name: 'First house style' }).count()).toBe(1);

    await newPart(page, 'task', 'Bread task', 'Write a short post about {{ topic }}.');
    await publish(page, 'Publish the draft', 'First task');

    // The list filters by kind and by words, in the address.
    await open(page, `${web.url}/llm/parts`);
    await page.getByLabel('Kind').selectOption('task');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/kind=task/);
    await eventually(() => page.getByRole('link', { name: 'House style' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Bread task' }).count()).toBe(1);
    await expectAccessible(page, 'the parts list');
    await screenshots(page, 'prompts-parts');

    // A template, assembled from the palette and inline text.
    await open(page, `${web.url}/llm/templates`);
    expect(await page.getByRole('heading', { name: 'No templates yet' }).count()).toBe(1);
    await expectAccessible(page, 'the empty templates list');
    await open(page, `${web.url}/llm/templates/new`);
    const create = page.getByRole('form', { name: 'New template' });
    await create.getByLabel('Name').fill('Bread post');
    await create.getByRole('button', { name: 'Create template' }).click();
    await page.waitForURL(/\/llm\/templates\/[0-9a-f-]{36}$/);

    await page.getByRole('button', { name: 'Add a message' }).click();
    await page.getByRole('button', { name: 'Add a part to message 1' }).click();
    await page.getByLabel('Search parts').fill('house');
    expect(await page.getByRole('button', { name: /Bread task/ }).count()).toBe(0);
    await page.getByRole('button', { name: /House style/ }).click();
    await page.getByRole('button', { name: 'Add a message' }).click();
    await page.getByRole('button', { name: 'Add a part to message 2' }).click();
    await page.getByLabel('Reference').selectOption('pin');
    await page.getByRole('button', { name: /Bread task/ }).click();
    expect(await entryNames(page, 1)).toEqual(['Bread task']);

    // The preview's form is made from the variables the parts read; it renders the exact messages.
    await page.getByLabel(/^tone/).fill('warm');
    await page.getByLabel(/^blog/).fill('{"name": "The Crumb"}');
    await page.getByLabel(/^topic/).fill('rye bread');
    const rendered = page.getByTestId('rendered-message');
    await eventually(() => rendered.allTextContents(), { timeout: 10_000 }).toEqual([
      expect.stringContaining('Write in a warm voice. Mention The Crumb.'),
      expect.stringContaining('Write a short post about rye bread.'),
    ]);

    // An unfinished tag in inline text is a problem at its entry, with its line; fixing it clears it.
    await page.getByRole('button', { name: 'Add text to message 2' }).click();
    await page.getByLabel('Inline text, message 2, entry 2').fill('Today: {{ topic | upcase ');
    const problem = page.getByTestId('message').nth(1).getByTestId('entry').nth(1).getByTestId('problem');
    await eventually(() => problem.first().textContent(), { timeout: 10_000 }).toMatch(/line 1/);
    expect(await page.getByTestId('preview-summary').textContent()).toMatch(/1 problem to fix \(shown at their entries\)/);
    await page.getByLabel('Inline text, message 2, entry 2').fill('Today: {{ topic | upcase }}');
    await eventually(() => problem.count(), { timeout: 10_000 }).toBe(0);

    // By keyboard: the text moves above the part.
    await page.getByRole('button', { name: /Move inline text \(message 2, entry 2\)/ }).focus();
    await page.keyboard.press('ArrowUp');
    expect(await entryNames(page, 1)).toEqual(['Inline text', 'Bread task']);
    await eventually(() => page.getByRole('status').filter({ hasText: 'Entry moved to position 1 of 2' }).count()).toBe(1);
    await eventually(() => rendered.nth(1).textContent(), { timeout: 10_000 }).toContain(
      'Today: RYE BREAD\n\nWrite a short post about rye bread.',
    );

    // By drag: the user message moves above the system message, and back.
    const roles = () => page.getByTestId('message').evaluateAll((items) => items.map((item) => item.getAttribute('data-role')));
    await page.dragAndDrop('[data-message-handle="1"]', '[data-testid="message"]:first-child');
    expect(await roles()).toEqual(['user', 'system']);
    await page.dragAndDrop('[data-message-handle="1"]', '[data-testid="message"]:first-child');
    expect(await roles()).toEqual(['system', 'user']);
    await eventually(() => page.getByTestId('preview-summary').textContent()).toMatch(/Ready: 2 messages, about \d+ tokens/);
    await expectAccessible(page, 'the template being assembled');
    await screenshots(page, 'prompts-template-assembly');

    await page.getByRole('button', { name: 'Save draft' }).click();
    await eventually(() => page.getByRole('status').filter({ hasText: 'Draft saved' }).count()).toBe(1);
    await publish(page, 'Publish the template', 'First bread post');

    // A second version: the part moves back above the text, by keyboard.
    await page.getByRole('button', { name: /Move Bread task \(message 2, entry 2\)/ }).focus();
    await page.keyboard.press('ArrowUp');
    expect(await entryNames(page, 1)).toEqual(['Bread task', 'Inline text']);
    // (The prompt service's diff does not count a reorder inside a message as a change, so the text changes too.)
    await page.getByLabel('Inline text, message 2, entry 2').fill('Today: {{ topic | upcase }}, baked slowly.');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await eventually(() => page.getByRole('status').filter({ hasText: 'Draft saved' }).count()).toBe(1);
    await publish(page, 'Publish the template', 'Text first');

    // The diff between the two versions, side by side.
    await page.getByLabel('From', { exact: true }).selectOption('1');
    await page.getByLabel('To', { exact: true }).selectOption('2');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/from=1&to=2/);
    await eventually(() => page.getByRole('heading', { name: /Message 2: changed/ }).count()).toBe(1);
    const diff = page.getByRole('table', { name: /Message 2, Version 1 beside Version 2/ });
    expect(await diff.getByRole('columnheader').allTextContents()).toEqual(['Version 1', 'Version 2']);
    expect(await diff.textContent()).toMatch(/added:\s*Today: \{\{ topic \| upcase \}\}, baked slowly\./);

    // Labels: the protected production asks for confirmation to be set, and again to move.
    const labels = page.getByRole('form', { name: 'Set or move a label' });
    await labels.getByLabel('Label', { exact: true }).fill('production');
    await labels.getByLabel('Version', { exact: true }).selectOption('1');
    await labels.getByRole('button', { name: 'Set label' }).click();
    await page.getByRole('button', { name: 'Move production to version 1' }).click();
    await page.getByRole('alertdialog', { name: 'Move a protected label?' }).getByRole('button', { name: 'Move it' }).click();
    await eventually(() => page.getByText('production now points at version 1.').count()).toBe(1);
    await labels.getByLabel('Label', { exact: true }).fill('production');
    await labels.getByLabel('Version', { exact: true }).selectOption('2');
    await labels.getByRole('button', { name: 'Set label' }).click();
    await eventually(() => page.getByRole('button', { name: 'Move production to version 2' }).count()).toBe(1);
    expect(await page.getByRole('region', { name: 'Labels' }).textContent()).toMatch(/Moving it from version 1\s+to version 2/);
    await screenshots(page, 'prompts-label-confirm');
    await page.getByRole('button', { name: 'Move production to version 2' }).click();
    await page.getByRole('alertdialog', { name: 'Move a protected label?' }).getByRole('button', { name: 'Move it' }).click();
    await eventually(() => page.getByText('production now points at version 2.').count()).toBe(1);
    expect(await page.getByRole('cell', { name: 'production' }).count()).toBe(1);
    await expectAccessible(page, 'the template with versions and labels');
    await screenshots(page, 'prompts-template-versions');

    // The part's impact now names the published template versions that use it.
    await open(page, `${web.url}/llm/parts`);
    await page.getByRole('link', { name: 'House style' }).click();
    await page.waitForURL(/\/llm\/parts\//);
    await editor.click();
    await page.keyboard.press('End');
    await page.keyboard.type(' Be brief.');
    await page.getByRole('form', { name: 'Edit the draft' }).getByRole('button', { name: 'Save draft' }).click();
    await eventually(() => page.getByTestId('impact').textContent()).toContain('Bread post v1');

    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it('reloads the parts and templates lists live when something is published elsewhere', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: await signedIn(ADMIN) });
    const page = await context.newPage();
    const errors = await watchErrors(page);
    // Another editor's changes, through the API (the dashboard's own proxy, as a script would).
    const api = async (path: string, body: unknown) => {
      const answer = await context.request.post(`${web.url}${path}`, { data: body, headers: { origin: web.url } });
      expect(answer.status(), await answer.text()).toBe(201);
      return (await answer.json()) as { id: string };
    };
    const part = await api('/api/v1/parts', { kind: 'task', name: 'Published elsewhere', content: 'Say {{ what }}.' });
    await open(page, `${web.url}/llm/parts`);
    const row = page.getByRole('row').filter({ hasText: 'Published elsewhere' });
    expect(await row.textContent()).toContain('Draft only');
    await api(`/api/v1/parts/${part.id}/publish`, { message: 'from a script' });
    await eventually(() => row.textContent(), { timeout: 10_000 }).toMatch(/v1/);

    const template = await api('/api/v1/templates', {
      name: 'Published elsewhere too',
      messages: [{ role: 'user', entries: [{ type: 'text', text: 'Hello' }] }],
    });
    await open(page, `${web.url}/llm/templates`);
    const templateRow = page.getByRole('row').filter({ hasText: 'Published elsewhere too' });
    expect(await templateRow.textContent()).toContain('Draft only');
    await api(`/api/v1/templates/${template.id}/publish`, { message: 'from a script' });
    await eventually(() => templateRow.textContent(), { timeout: 10_000 }).toMatch(/v1/);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  /** A new context with the editor's session (signed in once for the file), and its page watched. */
  async function editorPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: DESKTOP, storageState: await signedIn(EDITOR) });
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
    const { context, page, errors } = await editorPage();
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
    await eventually(() => output.textContent(), { timeout: 15_000 }).toMatch(/You said/);
    expect(await column.getByText('Running').count()).toBe(1);
    expect(await column.locator('[data-stat="cost"]').textContent()).toBe('—');
    await column.getByText('Succeeded').waitFor({ timeout: 20_000 });
    expect(await output.textContent()).toContain('seven eight');
    await eventually(() => column.locator('[data-stat="cost"]').textContent()).toMatch(/^\$\d/);
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

    // Opt-in payload retention removed the attempt's body and response text: the record says so, with the date.
    const taskId = new URL(page.url()).pathname.split('/').pop();
    await harness.admin.query(
      `UPDATE runner.attempts SET wire = wire - 'body', response_text = NULL, payload_removed_at = now() WHERE task_id = $1`,
      [taskId],
    );
    await reload(page);
    const today = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date());
    expect(await page.locator('pre.wire').textContent()).toContain(`(removed by retention on ${today})`);
    expect(await page.locator('[data-payload-removed]').textContent()).toContain(`removed by retention on ${today}`);
    expect(await page.locator('[data-output]').textContent()).toContain('seven eight'); // the task's output stays
    await expectAccessible(page, "a task's record after payload retention");
    await screenshots(page, 'task-record-payload-removed');
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

    const { context, page, errors } = await editorPage();
    await open(page, `${web.url}/llm/run`);
    await page.getByLabel('Template', { exact: true }).selectOption({ label: 'Topic note (v1)' });
    // One typed control per declared variable; the preview says what is missing before anything is typed.
    await page.getByLabel(/^topic/).waitFor();
    expect(await page.getByLabel(/^lines/).getAttribute('type')).toBe('number');
    expect(await page.getByLabel(/^brief/).evaluate((element) => element.tagName)).toBe('SELECT');
    const preview = page.getByRole('region', { name: 'Preview' });
    await eventually(() => preview.getByTestId('preview-summary').textContent()).toMatch(/problems? to fix/);
    await page.getByLabel(/^topic/).fill('sourdough');
    await page.getByLabel(/^lines/).fill('3');
    await page.getByRole('button', { name: 'Add an item to tags' }).click();
    await page.getByLabel('tags, item 1').fill('bread');
    await page.getByRole('button', { name: 'Add an item to tags' }).click();
    await page.getByLabel('tags, item 2').fill('baking');
    await page.getByLabel(/^brief/).selectOption('true');
    // The preview follows the inputs as they are typed: no button to press.
    await eventually(() => preview.getByTestId('rendered-message').textContent(), { timeout: 10_000 }).toContain(
      'Write a note about sourdough in 3 lines, briefly. Tags: bread, baking.',
    );
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
    const { context, page, errors } = await editorPage();
    await runMessage(page, 'Side by side, please', ['emu-gpt-small', 'emu-gpt-large', 'emu-claude-fast']);
    const columns = page.getByRole('article');
    await eventually(() => columns.count()).toBe(3);
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
    const { context, page, errors } = await editorPage();
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

    const { context, page, errors } = await editorPage();
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
    // The status may be patched from its event a moment before the record's reload brings the output.
    await eventually(() => page.locator('[data-output]').textContent()).toContain('RETRY-ELSEWHERE');
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

    const { context, page, errors } = await editorPage();
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
    const { context, page, errors } = await editorPage();
    await open(page, `${web.url}/llm/tasks`);
    await expectAccessible(page, 'the history');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=failed/);
    await reload(page);
    expect(await page.getByLabel('Status').inputValue()).toBe('failed');
    const rows = page.locator('tbody tr');
    await eventually(() => rows.count()).toBeGreaterThan(0);
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
    const { context, page, errors } = await editorPage();
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
    await eventually(() => item.count(), { timeout: 15_000 }).toBe(0);

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
