/// <reference lib="dom" />
/**
 * Prompt assembly in a real headless Chromium against the real gateway and prompt service: parts written
 * in the Liquid editor (its live list of variables), published after their impact is shown; a template
 * assembled from them by drag and by keyboard, previewed with typed inputs, a problem shown at its entry
 * and fixed, published twice, two versions diffed, and labels set and moved (the protected `production`
 * asks for confirmation). axe runs on every page shown; each is photographed at desktop and phone width.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import {
  DESKTOP,
  expectAccessible,
  hydrated,
  launchBrowser,
  open,
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
/** The preview refuses nothing, but a confirmation the flow asks for on purpose shows as a 428 in the log. */
const EXPECTED_4XX = /status of 4\d\d/;

describe('prompt parts and templates', () => {
  let stack: Stack;
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [stack, browser] = await Promise.all([startStack({ db, services: ['registry', 'prompt', 'runner'] }), launchBrowser()]);
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: stack.secret,
      ...Object.fromEntries(Object.entries(stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    gateway = await runService('gateway', gatewayBuilder(env), { env });
    [web] = await Promise.all([startWeb(gateway.url), createAccountAsOperator(db.adminUrl, ADMIN)]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await stack?.stop();
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
    const context = await browser.newContext({ viewport: DESKTOP });
    await signIn(context, web.url, ADMIN.email, ADMIN.password);
    const page = await context.newPage();
    const errors = await watchErrors(page, EXPECTED_4XX);

    // An empty list says what a part is and offers to write one.
    await open(page, `${web.url}/llm/parts`);
    expect(await page.getByRole('heading', { name: 'No prompt parts yet' }).count()).toBe(1);
    await expectAccessible(page, 'the empty parts list');

    // A part: the editor lists the variables it reads as you type; the impact is shown before publishing.
    await newPart(page, 'style', 'House style', 'Write in a {{ tone }} voice.');
    const variables = page.getByRole('complementary', { name: 'Variables it uses' });
    await expect.poll(() => variables.textContent()).toContain('tone');
    // The CodeMirror editor (loaded on this page only) in place of the plain textarea.
    const editor = page.getByTestId('liquid-editor').getByRole('textbox', { name: 'Part text' });
    await editor.click();
    await page.keyboard.press('End');
    await page.keyboard.type(' Mention {{ blog.name }}.');
    await expect.poll(() => variables.textContent()).toContain('blog.name');
    expect(await page.getByText('Unsaved changes: save the draft before publishing.').count()).toBe(1);
    await page.getByRole('form', { name: 'Edit the draft' }).getByRole('button', { name: 'Save draft' }).click();
    await expect.poll(() => page.getByText('Unsaved changes: save the draft before publishing.').count()).toBe(0);
    await expect.poll(() => page.getByTestId('impact').textContent()).toContain('Publishing makes version 1');
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
    await expect.poll(() => page.getByRole('link', { name: 'House style' }).count()).toBe(0);
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
    await expect
      .poll(() => rendered.allTextContents(), { timeout: 10_000 })
      .toEqual([
        expect.stringContaining('Write in a warm voice. Mention The Crumb.'),
        expect.stringContaining('Write a short post about rye bread.'),
      ]);

    // An unfinished tag in inline text is a problem at its entry, with its line; fixing it clears it.
    await page.getByRole('button', { name: 'Add text to message 2' }).click();
    await page.getByLabel('Inline text, message 2, entry 2').fill('Today: {{ topic | upcase ');
    const problem = page.getByTestId('message').nth(1).getByTestId('entry').nth(1).getByTestId('problem');
    await expect.poll(() => problem.first().textContent(), { timeout: 10_000 }).toMatch(/line 1/);
    expect(await page.getByTestId('preview-summary').textContent()).toMatch(/1 problem to fix \(shown at their entries\)/);
    await page.getByLabel('Inline text, message 2, entry 2').fill('Today: {{ topic | upcase }}');
    await expect.poll(() => problem.count(), { timeout: 10_000 }).toBe(0);

    // By keyboard: the text moves above the part.
    await page.getByRole('button', { name: /Move inline text \(message 2, entry 2\)/ }).focus();
    await page.keyboard.press('ArrowUp');
    expect(await entryNames(page, 1)).toEqual(['Inline text', 'Bread task']);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Entry moved to position 1 of 2' }).count()).toBe(1);
    await expect
      .poll(() => rendered.nth(1).textContent(), { timeout: 10_000 })
      .toContain('Today: RYE BREAD\n\nWrite a short post about rye bread.');

    // By drag: the user message moves above the system message, and back.
    const roles = () => page.getByTestId('message').evaluateAll((items) => items.map((item) => item.getAttribute('data-role')));
    await page.dragAndDrop('[data-message-handle="1"]', '[data-testid="message"]:first-child');
    expect(await roles()).toEqual(['user', 'system']);
    await page.dragAndDrop('[data-message-handle="1"]', '[data-testid="message"]:first-child');
    expect(await roles()).toEqual(['system', 'user']);
    await expect.poll(() => page.getByTestId('preview-summary').textContent()).toMatch(/Ready: 2 messages, about \d+ tokens/);
    await expectAccessible(page, 'the template being assembled');
    await screenshots(page, 'prompts-template-assembly');

    await page.getByRole('button', { name: 'Save draft' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Draft saved' }).count()).toBe(1);
    await publish(page, 'Publish the template', 'First bread post');

    // A second version: the part moves back above the text, by keyboard.
    await page.getByRole('button', { name: /Move Bread task \(message 2, entry 2\)/ }).focus();
    await page.keyboard.press('ArrowUp');
    expect(await entryNames(page, 1)).toEqual(['Bread task', 'Inline text']);
    // (The prompt service's diff does not count a reorder inside a message as a change, so the text changes too.)
    await page.getByLabel('Inline text, message 2, entry 2').fill('Today: {{ topic | upcase }}, baked slowly.');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Draft saved' }).count()).toBe(1);
    await publish(page, 'Publish the template', 'Text first');

    // The diff between the two versions, side by side.
    await page.getByLabel('From', { exact: true }).selectOption('1');
    await page.getByLabel('To', { exact: true }).selectOption('2');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/from=1&to=2/);
    await expect.poll(() => page.getByRole('heading', { name: /Message 2: changed/ }).count()).toBe(1);
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
    await expect.poll(() => page.getByText('production now points at version 1.').count()).toBe(1);
    await labels.getByLabel('Label', { exact: true }).fill('production');
    await labels.getByLabel('Version', { exact: true }).selectOption('2');
    await labels.getByRole('button', { name: 'Set label' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Move production to version 2' }).count()).toBe(1);
    expect(await page.getByRole('region', { name: 'Labels' }).textContent()).toMatch(/Moving it from version 1\s+to version 2/);
    await screenshots(page, 'prompts-label-confirm');
    await page.getByRole('button', { name: 'Move production to version 2' }).click();
    await page.getByRole('alertdialog', { name: 'Move a protected label?' }).getByRole('button', { name: 'Move it' }).click();
    await expect.poll(() => page.getByText('production now points at version 2.').count()).toBe(1);
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
    await expect.poll(() => page.getByTestId('impact').textContent()).toContain('Bread post v1');

    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it('reloads the parts and templates lists live when something is published elsewhere', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    await signIn(context, web.url, ADMIN.email, ADMIN.password);
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
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toMatch(/v1/);

    const template = await api('/api/v1/templates', {
      name: 'Published elsewhere too',
      messages: [{ role: 'user', entries: [{ type: 'text', text: 'Hello' }] }],
    });
    await open(page, `${web.url}/llm/templates`);
    const templateRow = page.getByRole('row').filter({ hasText: 'Published elsewhere too' });
    expect(await templateRow.textContent()).toContain('Draft only');
    await api(`/api/v1/templates/${template.id}/publish`, { message: 'from a script' });
    await expect.poll(() => templateRow.textContent(), { timeout: 10_000 }).toMatch(/v1/);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
