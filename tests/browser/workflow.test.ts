/// <reference lib="dom" />
/**
 * The workflow's pages in a real headless Chromium against the real gateway, registry, prompt service,
 * runner and workflow, with the provider emulator, on one started system (each account signed in once, into
 * one browser context in which every test opens its own page):
 * an empty board that says how to start; the admin pages (a step added and retired, a JSON field, an
 * action defined with its template picked, its variables mapped and the prompt previewed) and an
 * `apply`-mode action that fills a list field through structured output; an action's template pin, model
 * and preset changed on its admin page; a post started from an idea, a value autosaved, an action pressed
 * as "Automate with LLM" (its prompt rendered from the post, the output streamed in), its suggestion
 * accepted, the field's revisions and the earlier value restored; a post started with another post's action
 * choices; a task failed by an emulator fault, shown, and run again on another model with the inputs
 * adjusted; a step's actions run in one go, a section target once per section; two browser sessions
 * editing one field see a conflict; a batch over five posts reviewed one after another. axe once on every
 * page a test shows, with the most of it open; screenshots at desktop and phone width.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { freePort } from '@llmops/kit/testing/database';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startRunnerHarness, type RunnerHarness } from '../runner-support.ts';
import { admin as adminIdentity, type Json } from '../workflow-support.ts';
import {
  DESKTOP,
  expectAccessible,
  launchBrowser,
  open,
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

/** expect.poll with room for a loaded machine (two cores shared by every test worker). */
const eventually = <T>(fn: () => T | Promise<T>, options: { timeout?: number } = {}) =>
  expect.poll(fn, { timeout: 15_000, ...options });
const ADMIN = { email: 'ada@example.com', name: 'Ada Admin', role: 'admin' as const, password: 'a long enough password' };
const EDITOR = { email: 'eve@example.com', name: 'Eve Editor', role: 'editor' as const, password: 'a long enough password' };

describe('the workflow: posts, the post workspace, the admin pages and batch runs', () => {
  let h: RunnerHarness;
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;
  let emulator: Emulator;
  let signedIn: (who: { email: string; password: string }) => Promise<SignedIn>;
  /** Each account's browser context, made once from its session: every test opens its own page (tab) in it. */
  const contexts = new Map<string, BrowserContext>();
  let models: { small: string; other: string };
  let substages: Record<string, string>;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // The gateway's port is chosen first, so the dashboard (whose /healthz does not ask the gateway), Chromium
    // and the accounts are made while the services start, not after them.
    const gatewayPort = await freePort();
    emulator = await startEmulator();
    [h, browser, web] = await Promise.all([
      startRunnerHarness(db, emulator, { services: ['registry', 'prompt', 'runner', 'workflow'] }),
      launchBrowser(),
      startWeb(`http://127.0.0.1:${gatewayPort}`),
      createAccountAsOperator(db.adminUrl, ADMIN),
      createAccountAsOperator(db.adminUrl, EDITOR),
    ]);
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      PORT: String(gatewayPort),
      LLMOPS_INTERNAL_SECRET: h.stack.secret,
      ...Object.fromEntries(Object.entries(h.stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    gateway = await runService('gateway', gatewayBuilder(env), { env });
    // Each account signs in once (a password hash each) into a context of its own, kept for the file: a test
    // opens a new page in it, so the dashboard's scripts are fetched and compiled once per account, not per test.
    signedIn = sessions(browser, web.url);
    const [small, other, stages] = await Promise.all([
      h.provider({ capabilities: { json_output: true } }),
      h.provider({ model: 'emu-gpt-large', capabilities: { json_output: true } }),
      h.call('workflow', 'GET', '/api/v1/workflow/stages'),
      ...[ADMIN, EDITOR].map(async (who) => contexts.set(who.email, await newContext(who))),
    ]);
    models = { small: small.model, other: other.model };
    substages = Object.fromEntries(
      (stages.body.items as Json[]).flatMap((stage) => stage.substages).map((s: Json) => [s.key, s.id]),
    );
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await Promise.all([h?.stop(), emulator?.stop()]);
  });

  async function publishedTemplate(name: string, variables: string[], text: string): Promise<string> {
    const template = await h.call('prompt', 'POST', '/api/v1/templates', {
      name,
      variables: variables.map((variable) => ({ name: variable, type: 'string' })),
      messages: [{ role: 'user', entries: [{ type: 'text', text }] }],
    });
    expect(template.status, JSON.stringify(template.body)).toBe(201);
    expect((await h.call('prompt', 'POST', `/api/v1/templates/${template.body.id}/publish`, {})).status).toBe(201);
    return template.body.id as string;
  }

  async function post(title: string): Promise<string> {
    const created = await h.call('workflow', 'POST', '/api/v1/workflow/posts', { title });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as string;
  }

  /** A new browser context with the account's session (signed in once for the file). */
  async function newContext(who: { email: string; password: string }): Promise<BrowserContext> {
    return browser.newContext({ viewport: DESKTOP, storageState: await signedIn(who) });
  }

  /**
   * A new page, watched, in the account's context for the file, or in a new context of its own (`own`: a
   * second browser session of the same account); `close` closes what was opened for it.
   */
  async function session(
    who: { email: string; password: string },
    { own = false } = {},
  ): Promise<{ context: BrowserContext; page: Page; errors: string[]; close: () => Promise<void> }> {
    const context = own ? await newContext(who) : (contexts.get(who.email) as BrowserContext);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const errors = await watchErrors(page);
    return { context, page, errors, close: () => (own ? context.close() : page.close()) };
  }

  /** An action defined through the API (the admin page's own flow is the first test), on the Idea step unless given. */
  async function defineAction(body: Record<string, unknown>): Promise<string> {
    const response = await h.stack.call(
      'workflow',
      '/api/v1/workflow/actions',
      { method: 'POST', body: JSON.stringify({ substage_id: substages.idea, ...body }) },
      adminIdentity,
    );
    expect(response.status, await response.clone().text()).toBe(201);
    return ((await response.json()) as Json).id as string;
  }

  async function write(postId: string, key: string, value: unknown, sectionId?: string): Promise<void> {
    const written = await h.call('workflow', 'PUT', `/api/v1/workflow/posts/${postId}/values/${key}`, {
      value,
      base_revision_id: null,
      ...(sectionId ? { section_id: sectionId } : {}),
    });
    expect(written.status, JSON.stringify(written.body)).toBe(200);
  }

  async function action(id: string): Promise<Json> {
    const read = await h.call('workflow', 'GET', `/api/v1/workflow/actions/${id}`);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    return read.body;
  }

  let echo: Promise<string> | undefined;
  /** "Echo the idea" on the Idea step: the idea in, a working title out, as a suggestion (defined once). */
  function echoAction(): Promise<string> {
    echo ??= publishedTemplate('echo the idea', ['idea'], '{{ idea }}').then((template) =>
      defineAction({
        label: 'Echo the idea',
        template_id: template,
        model_id: models.small,
        inputs: { idea: { from: 'post_field', field: 'basic_idea' } },
        target_field: 'working_title',
      }),
    );
    return echo;
  }

  it('an empty board says how to start; an admin defines an apply-mode action on the admin pages; pressed, it fills a list field through structured output', async () => {
    const [eve, ada] = await Promise.all([
      session(EDITOR),
      session(ADMIN),
      publishedTemplate('tags from text', ['text'], '{{ text }}'),
    ]);
    await open(eve.page, `${web.url}/workflow`);
    expect(await eve.page.getByRole('heading', { name: 'No posts yet' }).count()).toBe(1);
    await expectAccessible(eve.page, 'the empty board');
    await screenshots(eve.page, 'workflow-board-empty');

    const { page, errors } = ada;
    await open(page, `${web.url}/settings/workflow`);
    expect(await page.getByRole('heading', { name: 'Workflow steps' }).count()).toBe(1);
    expect(await page.locator('[data-substage]').count()).toBe(9);
    await expectAccessible(page, 'the workflow steps');
    await screenshots(page, 'workflow-admin-steps');
    // A step added to Planning, then retired: it keeps its place in the list, marked, and leaves the posts' process.
    const add = page.getByRole('form', { name: 'Add a step to Planning' });
    await page.getByText('Add a step to Planning').click();
    await add.getByLabel('Key').fill('fact_check');
    await add.getByLabel('Name').fill('Fact check');
    await add.getByRole('button', { name: 'Add the step' }).click();
    await eventually(() => page.locator('[data-substage="fact_check"]').count()).toBe(1);
    await page.getByRole('button', { name: 'Retire Fact check' }).click();
    await eventually(() => page.locator('[data-substage="fact_check"]').textContent(), { timeout: 20_000 }).toContain('retired');

    await open(page, `${web.url}/settings/workflow/fields?substage=${substages.meta_info}`);
    expect(await page.locator('[data-field-key="tags"]').count()).toBe(1);
    const field = page.getByRole('form', { name: 'New field' });
    await field.getByLabel('Kind').selectOption('json');
    await field.getByLabel('Key').fill('sources');
    await field.getByLabel('Label').fill('Sources');
    await field.getByLabel('JSON schema').fill('{"type": "array", "items": {"type": "string"}}');
    await field.getByRole('button', { name: 'Define the field' }).click();
    await eventually(() => page.locator('[data-field-key="sources"]').textContent(), { timeout: 20_000 }).toContain('json');
    await expectAccessible(page, 'the workflow fields');
    await screenshots(page, 'workflow-admin-fields');

    await open(page, `${web.url}/settings/workflow/actions?substage=${substages.idea}`);
    expect(await page.getByRole('heading', { name: 'No actions yet' }).count()).toBe(1);
    const editor = page.getByRole('form', { name: 'New action' });
    await editor.getByLabel('Button label').fill('Suggest tags');
    await editor.getByLabel('Template').selectOption({ label: 'tags from text (v1)' });
    await editor.getByLabel('text ←').selectOption({ label: 'Fixed text' });
    await editor.getByLabel('Fixed text for text').fill('{"items":["tea","scones"]}');
    await editor.getByLabel('Writes the field').selectOption('tags');
    await editor.getByLabel('Apply: written directly').check();
    await editor.getByLabel('Model').selectOption(models.small);
    await eventually(() => editor.getByRole('list', { name: 'Previewed messages' }).textContent()).toContain(
      '{"items":["tea","scones"]}',
    );
    await expectAccessible(page, 'the action editor');
    await screenshots(page, 'workflow-admin-action-editor');
    await editor.getByRole('button', { name: 'Define the action' }).click();
    await eventually(() => page.locator('[data-action="Suggest tags"]').count()).toBe(1);
    expect(await page.locator('[data-action="Suggest tags"]').textContent()).toContain('tags · apply');
    expect(errors).toEqual([]);
    await ada.close();

    // The editor presses it on a post: applied directly, a list of two items.
    const id = await post('Scones');
    await open(eve.page, `${web.url}/workflow/posts/${id}`);
    await eve.page.getByRole('group', { name: 'Automate with LLM' }).getByRole('button', { name: 'Suggest tags' }).click();
    const panel = eve.page.getByRole('region', { name: 'Suggest tags' });
    await panel.getByRole('button', { name: 'Run', exact: true }).click();
    await eventually(() => panel.getByLabel('Output').textContent(), { timeout: 20_000 }).toContain('scones');
    // To the Meta info step by its link in the process indicator (no full page load).
    await eve.page
      .getByRole('navigation', { name: 'Process' })
      .getByRole('link', { name: /Meta Info/ })
      .click();
    await eve.page.waitForURL(new RegExp(`substage=${substages.meta_info}`));
    const tags = eve.page.locator('[data-field="tags"]');
    await eventually(() =>
      tags.locator('input').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value)),
    ).toEqual(['tea', 'scones']);
    expect(await eve.page.getByRole('article', { name: /Suggestion for Tags/ }).count()).toBe(0);

    // An editor reads the admin pages without their controls (the service refuses them anyway).
    await open(eve.page, `${web.url}/settings/workflow/actions`);
    expect(await eve.page.locator('[data-action="Suggest tags"]').count()).toBe(1);
    expect(await eve.page.getByRole('form', { name: 'New action' }).count()).toBe(0);
    expect(await eve.page.getByRole('button', { name: 'Retire' }).count()).toBe(0);
    const refused = await eve.context.request.patch(`${web.url}/api/v1/workflow/substages/${substages.idea}`, {
      data: { label: 'Mine now' },
      headers: { origin: web.url },
    });
    expect(refused.status()).toBe(403);
    expect(eve.errors).toEqual([]);
    await eve.close();
  }, 120_000);

  it("an admin changes an action's template pin, model and preset on its admin page", async () => {
    const template = await publishedTemplate('outline from the idea', ['idea'], 'Outline: {{ idea }}');
    const changed = await h.call('prompt', 'PATCH', `/api/v1/templates/${template}`, {
      messages: [{ role: 'user', entries: [{ type: 'text', text: 'Outline, second take: {{ idea }}' }] }],
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect((await h.call('prompt', 'POST', `/api/v1/templates/${template}/publish`, {})).status).toBe(201);
    const [labelled, preset] = await Promise.all([
      h.call('prompt', 'PUT', `/api/v1/templates/${template}/labels/stable`, { version: 1 }),
      h.call('registry', 'POST', '/api/v1/presets', { name: 'Careful' }),
    ]);
    expect(labelled.status, JSON.stringify(labelled.body)).toBe(200);
    expect(preset.status, JSON.stringify(preset.body)).toBe(201);
    const id = await defineAction({
      substage_id: substages.structure,
      label: 'Outline it',
      template_id: template,
      model_id: models.small,
      inputs: { idea: { from: 'post_field', field: 'basic_idea' } },
      target_field: 'outline',
    });

    const { page, errors, close } = await session(ADMIN);
    await open(page, `${web.url}/settings/workflow/actions?substage=${substages.structure}`);
    const item = page.locator('[data-action="Outline it"]');
    const edit = page.getByRole('form', { name: 'Edit Outline it' });
    // As defined: the latest published version, its model, no preset.
    await item.getByText('Edit Outline it').click();
    expect(await edit.getByLabel('Version').inputValue()).toBe('');
    expect(await edit.getByLabel('Model').inputValue()).toBe(models.small);
    expect(await edit.getByLabel('Preset').inputValue()).toBe('');
    // The pickers offer what creating an action offers: the template's labels and versions, the models, the presets.
    expect(await edit.getByLabel('Version').locator('option').allTextContents()).toEqual([
      'The latest published version',
      'Label stable (v1)',
      'Version 2, pinned',
      'Version 1, pinned',
    ]);
    await edit.getByLabel('Version').selectOption({ label: 'Version 1, pinned' });
    await edit.getByLabel('Model').selectOption(models.other);
    await edit.getByLabel('Preset').selectOption({ label: 'Careful' });
    await expectAccessible(page, "an action's settings being changed");
    await screenshots(page, 'workflow-admin-action-edit');
    await edit.getByRole('button', { name: 'Save Outline it' }).click();
    await eventually(() => item.locator('.head').textContent()).toMatch(
      /outline from the idea v1\s[\s\S]*emu-gpt-large[\s\S]* · preset Careful/,
    );
    expect(await action(id)).toMatchObject({
      template_version: 1,
      template_label: null,
      model_id: models.other,
      preset_id: preset.body.id,
    });

    // Then the label instead of the version, the template's own model and no preset (the saved form closed).
    expect(await page.getByRole('status').filter({ hasText: 'Saved.' }).count()).toBe(1);
    await item.getByText('Edit Outline it').click();
    expect(await edit.getByLabel('Version').inputValue()).toBe('version:1');
    expect(await edit.getByLabel('Model').inputValue()).toBe(models.other);
    await edit.getByLabel('Version').selectOption({ label: 'Label stable (v1)' });
    await edit.getByLabel('Model').selectOption({ label: "The template's default" });
    await edit.getByLabel('Preset').selectOption({ label: 'None' });
    await edit.getByRole('button', { name: 'Save Outline it' }).click();
    await eventually(() => item.locator('.head').textContent()).toContain('outline from the idea (stable)');
    expect(await item.locator('.head').textContent()).not.toContain('preset');
    expect(await action(id)).toMatchObject({ template_version: null, template_label: 'stable', model_id: null, preset_id: null });
    expect(errors).toEqual([]);
    await close();
  }, 60_000);

  it('starts a post from an idea, automates a field with the LLM, accepts it and restores the earlier value', async () => {
    // An action on the Idea step, as an admin defines it through the API: the idea in, a working title out.
    const template = await publishedTemplate('title from the idea', ['idea'], '{{ idea }}');
    await defineAction({
      label: 'Suggest a title',
      template_id: template,
      model_id: models.small,
      inputs: { idea: { from: 'post_field', field: 'basic_idea' } },
      target_field: 'working_title',
    });
    const { page, errors, close } = await session(EDITOR);

    await open(page, `${web.url}/workflow`);
    await page.locator('summary', { hasText: 'Start a post from an idea' }).click();
    const start = page.getByRole('form', { name: 'Start a post' });
    await start.getByLabel('Title').fill('Tea at five');
    await start.getByLabel('Idea').fill('Why the British drink tea at five');
    await start.getByRole('button', { name: 'Start the post' }).click();
    await page.waitForURL(/\/workflow\/posts\/[0-9a-f-]{36}$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Tea at five');
    expect(await page.getByRole('link', { name: /Idea/ }).getAttribute('aria-current')).toBe('step');
    expect(await page.locator('#value-basic_idea').inputValue()).toBe('Why the British drink tea at five');

    // A value typed is saved by itself.
    const title = page.locator('#value-working_title');
    await title.fill('Five o’clock tea');
    await eventually(() => page.locator('[data-field="working_title"] [role="status"]').textContent()).toBe('Saved');

    await page.getByRole('group', { name: 'Automate with LLM' }).getByRole('button', { name: 'Suggest a title' }).click();
    const panel = page.getByRole('region', { name: 'Suggest a title' });
    await eventually(() => panel.getByRole('list', { name: 'Rendered messages' }).textContent()).toContain(
      'Why the British drink tea at five',
    );
    await panel.getByRole('button', { name: 'Run' }).click();
    await eventually(() => panel.getByLabel('Output').textContent(), { timeout: 20_000 }).toBe(
      'You said: Why the British drink tea at five',
    );

    const review = page.getByRole('article', { name: 'Suggestion for Working title' });
    await eventually(() => review.count(), { timeout: 20_000 }).toBe(1);
    expect(await review.getByRole('table').textContent()).toContain('Five o’clock tea');
    await screenshots(page, 'workflow-review');
    await review.getByRole('button', { name: 'Accept', exact: true }).click();
    await eventually(() => title.inputValue()).toBe('You said: Why the British drink tea at five');
    await eventually(() => review.count()).toBe(0);

    const history = page.locator('[data-field="working_title"] details');
    await history.locator('summary').click();
    await eventually(() => history.getByRole('listitem').count()).toBe(2);
    await history.getByRole('button', { name: 'Restore this value' }).click();
    await eventually(() => title.inputValue()).toBe('Five o’clock tea');
    await eventually(() => history.getByRole('listitem').count()).toBe(3);
    expect(await page.getByRole('region', { name: 'LLM history' }).textContent()).toContain('Suggest a title');
    await expectAccessible(page, 'the post workspace');
    await screenshots(page, 'workflow-post');

    await open(page, `${web.url}/workflow?view=list`);
    expect(await page.getByRole('link', { name: 'Tea at five' }).count()).toBe(1);
    await page.getByLabel('Search').fill('coffee');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/q=coffee/);
    expect(await page.getByRole('heading', { name: 'No post matches these filters' }).count()).toBe(1);
    expect(page.url()).toContain('view=list');
    await expectAccessible(page, 'the posts list');
    await screenshots(page, 'workflow-list');

    expect(errors).toEqual([]);
    await close();
  }, 120_000);

  it("starts a post with another post's action choices: the same action hidden, the same inputs overridden", async () => {
    const source = await post('Choices source');
    const defined = (await h.call('workflow', 'GET', '/api/v1/workflow/actions')).body.items as Json[];
    const idOf = (label: string) => defined.find((a) => a.label === label)?.id as string;
    const choose = (actionId: string, choice: Json) =>
      h.call('workflow', 'PUT', `/api/v1/workflow/posts/${source}/actions/${actionId}/choice`, choice);
    const chosen = await Promise.all([
      choose(idOf('Suggest tags'), { hidden: true }),
      choose(idOf('Suggest a title'), {
        inputs: { idea: { from: 'literal', value: 'The idea every post like this one starts from' } },
      }),
    ]);
    for (const answer of chosen) expect(answer.status, JSON.stringify(answer.body)).toBe(200);

    const { page, errors, close } = await session(EDITOR);
    await open(page, `${web.url}/workflow`);
    await page.locator('summary', { hasText: 'Start a post from an idea' }).click();
    const start = page.getByRole('form', { name: 'Start a post' });
    await start.getByLabel('Title').fill('Like the source');
    await start.getByLabel(/Action choices like/).selectOption({ label: 'Choices source' });
    await expectAccessible(page, 'a post started like another');
    await screenshots(page, 'workflow-start-like');
    await start.getByRole('button', { name: 'Start the post' }).click();
    await page.waitForURL(/\/workflow\/posts\/[0-9a-f-]{36}$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Like the source');
    const copy = page.url().split('/').pop() as string;
    expect(await page.getByRole('alert').filter({ hasText: 'could not be copied' }).count()).toBe(0);

    // The hidden action is not offered; the overridden one renders from the copied inputs.
    const automate = page.getByRole('group', { name: 'Automate with LLM' });
    expect(await automate.getByRole('button', { name: 'Suggest a title' }).count()).toBe(1);
    expect(await automate.getByRole('button', { name: 'Suggest tags' }).count()).toBe(0);
    await automate.getByRole('button', { name: 'Suggest a title' }).click();
    const panel = page.getByRole('region', { name: 'Suggest a title' });
    await eventually(() => panel.getByRole('list', { name: 'Rendered messages' }).textContent()).toContain(
      'The idea every post like this one starts from',
    );
    await screenshots(page, 'workflow-post-like');
    const available = (await h.call('workflow', 'GET', `/api/v1/workflow/posts/${copy}/available-actions`)).body.items as Json[];
    expect(available.find((a) => a.label === 'Suggest tags')).toMatchObject({ hidden: true });
    expect(available.find((a) => a.label === 'Suggest a title')).toMatchObject({ hidden: false, overridden: true });

    // The post's own choices, changed on its page: the hidden action offered again, the override dropped.
    await page.locator('summary', { hasText: "This post's choices for these actions" }).click();
    await page.getByRole('group', { name: 'Choices for Suggest tags' }).getByLabel('Offered on this post').check();
    await eventually(() => automate.getByRole('button', { name: 'Suggest tags' }).count()).toBe(1);
    const titleChoices = page.getByRole('group', { name: 'Choices for Suggest a title' });
    await titleChoices.getByRole('button', { name: "Use the action's own inputs and field" }).click();
    await eventually(() => titleChoices.getByRole('button').count()).toBe(0);
    const after = (await h.call('workflow', 'GET', `/api/v1/workflow/posts/${copy}/available-actions`)).body.items as Json[];
    // Offering it again changed only that: its field is not recorded as overridden.
    expect(after.find((a) => a.label === 'Suggest tags')).toMatchObject({ hidden: false, overridden: false });
    expect(after.find((a) => a.label === 'Suggest a title')).toMatchObject({ hidden: false, overridden: false });
    await expectAccessible(page, "a post's own action choices");
    await screenshots(page, 'workflow-post-choices');
    expect(errors).toEqual([]);
    await close();
  }, 60_000);

  it('a task failed by the provider shows on the post and runs again on another model with an input adjusted for the run', async () => {
    emulator.fault({ model: 'emu-gpt-small', match: 'FAIL-HERE', status: 400 });
    const [id] = await Promise.all([post('Failing tea'), echoAction()]);
    await write(id, 'basic_idea', 'FAIL-HERE: tea');
    const { page, errors, close } = await session(EDITOR);
    await open(page, `${web.url}/workflow/posts/${id}`);
    await page.getByRole('group', { name: 'Automate with LLM' }).getByRole('button', { name: 'Echo the idea' }).click();
    const panel = page.getByRole('region', { name: 'Echo the idea' });
    await eventually(() => panel.getByRole('list', { name: 'Rendered messages' }).textContent()).toContain('FAIL-HERE: tea');
    await panel.getByRole('button', { name: 'Run', exact: true }).click();
    await eventually(() => panel.getByText(/^Failed ·/).count(), { timeout: 20_000 }).toBe(1);
    const history = page.getByRole('region', { name: 'LLM history' });
    await eventually(() => history.textContent(), { timeout: 20_000 }).toContain('Failed');

    // Another model and the idea reworded, for this run only: the prompt follows.
    await panel.getByLabel('Model for this run').selectOption(models.other);
    await panel.getByLabel('idea').fill('Tea, asked again');
    await eventually(() => panel.getByRole('list', { name: 'Rendered messages' }).textContent()).toContain('Tea, asked again');
    expect(await panel.textContent()).toContain('changed for this run');
    await eventually(() => panel.textContent()).toContain('emu-gpt-large');
    await expectAccessible(page, 'a run adjusted after a failure');
    await screenshots(page, 'workflow-run-adjusted');
    await panel.getByRole('button', { name: 'Run again' }).click();
    await eventually(() => panel.getByLabel('Output').last().textContent(), { timeout: 20_000 }).toBe(
      'You said: Tea, asked again',
    );
    await eventually(() => page.getByRole('article', { name: 'Suggestion for Working title' }).count(), { timeout: 20_000 }).toBe(
      1,
    );
    expect(await page.locator('#value-basic_idea').inputValue()).toBe('FAIL-HERE: tea');
    expect(errors).toEqual([]);
    await close();
  }, 120_000);

  it('runs every action of a step in one go, a section target once per section, each its own suggestion', async () => {
    const [heading, titled, id] = await Promise.all([
      publishedTemplate('echo the heading', ['heading'], '{{ heading }}'),
      publishedTemplate('echo the title', ['title'], 'Introduce {{ title }}'),
      post('Milk or tea first'),
    ]);
    await Promise.all([
      defineAction({
        substage_id: substages.content,
        label: 'Draft each section',
        template_id: heading,
        model_id: models.small,
        inputs: { heading: { from: 'section_field', field: 'heading' } },
        target_field: 'draft',
      }),
      defineAction({
        substage_id: substages.content,
        label: 'Write the introduction',
        template_id: titled,
        model_id: models.small,
        inputs: { title: { from: 'post', attribute: 'title' } },
        target_field: 'introduction',
      }),
    ]);
    // The sections in order (their positions follow their creation).
    for (const text of ['Milk first', 'Tea first']) {
      const section = await h.call('workflow', 'POST', `/api/v1/workflow/posts/${id}/sections`, {});
      await write(id, 'heading', text, section.body.id);
    }
    const { page, errors, close } = await session(EDITOR);
    await open(page, `${web.url}/workflow/posts/${id}?substage=${substages.content}`);
    await page.getByRole('group', { name: 'Automate with LLM' }).getByRole('button', { name: 'Run all 2' }).click();
    const batch = page.getByRole('region', { name: 'Every action of this step' });
    await eventually(() => batch.getByText(/runs finished/).textContent(), { timeout: 20_000 }).toBe('3 of 3 runs finished');
    const first = page.getByRole('article', { name: 'Suggestion for Draft, section 1' });
    await eventually(() => first.count(), { timeout: 20_000 }).toBe(1);
    expect(await first.getByRole('table').textContent()).toContain('You said: Milk first');
    expect(
      await page.getByRole('article', { name: 'Suggestion for Draft, section 2' }).getByRole('table').textContent(),
    ).toContain('You said: Tea first');
    expect(await page.getByRole('article', { name: 'Suggestion for Introduction' }).count()).toBe(1);
    await expectAccessible(page, 'a step run in one go');
    await screenshots(page, 'workflow-run-step');
    await first.getByRole('button', { name: 'Accept', exact: true }).click();
    await eventually(() => first.count()).toBe(0);
    expect(errors).toEqual([]);
    await close();
  }, 120_000);

  it('two browser sessions editing the same field: the later save shows the conflict, nothing is overwritten', async () => {
    const [id, one, two] = await Promise.all([post('Two editors'), session(EDITOR), session(EDITOR, { own: true })]);
    // The second session hears no live events (as if they were late), so it still edits the value it loaded.
    await two.page.route('**/api/v1/events**', () => {});
    await Promise.all([open(one.page, `${web.url}/workflow/posts/${id}`), open(two.page, `${web.url}/workflow/posts/${id}`)]);
    await one.page.locator('#value-working_title').fill('Tea, by one');
    await eventually(() => one.page.locator('[data-field="working_title"] [role="status"]').textContent()).toBe('Saved');
    await two.page.locator('#value-working_title').fill('Tea, by two');
    const conflict = two.page.locator('[data-field="working_title"] .conflict');
    await eventually(() => conflict.count(), { timeout: 15_000 }).toBe(1);
    expect(await conflict.textContent()).toContain('Tea, by one');
    expect(await conflict.textContent()).toContain('Tea, by two');
    // Both sessions are the same editor's: the note says the newer value is their own, from another window.
    await eventually(() => conflict.textContent()).toContain('changed by you in another window or tab');
    await expectAccessible(two.page, 'a conflict between two sessions');
    await screenshots(two.page, 'workflow-conflict');
    await conflict.getByRole('button', { name: 'Keep mine' }).click();
    await eventually(() => conflict.count()).toBe(0);
    const value = await h.call('workflow', 'GET', `/api/v1/workflow/posts/${id}`);
    expect(value.body.values.find((v: Json) => v.field_key === 'working_title').value).toBe('Tea, by two');
    expect(one.errors).toEqual([]);
    await Promise.all([one.close(), two.close()]);
  }, 120_000);

  it('runs one action over five posts, shows the progress and reviews the suggestions one after another', async () => {
    const titles = ['Batch one', 'Batch two', 'Batch three', 'Batch four', 'Batch five'];
    await Promise.all([echoAction(), ...titles.map(async (title) => write(await post(title), 'basic_idea', `${title} idea`))]);
    const { page, errors, close } = await session(EDITOR);
    await open(page, `${web.url}/workflow/batch`);
    const start = page.getByRole('form', { name: 'Start a batch' });
    await start.getByLabel('Action').selectOption({ label: 'Idea · Echo the idea' });
    for (const title of titles) await start.getByLabel(title).check();
    await expectAccessible(page, 'the batch form');
    await screenshots(page, 'workflow-batch-start');
    await start.getByRole('button', { name: 'Run on 5 posts' }).click();
    await page.waitForURL(/since=/);
    await eventually(() => page.getByText(/runs finished/).textContent(), { timeout: 30_000 }).toBe('5 of 5 runs finished');
    const review = page.getByRole('region', { name: 'Review' });
    const seen: string[] = [];
    for (let n = 1; n <= 5; n++) {
      await eventually(() => review.getByText(/^Suggestion \d of 5/).textContent(), { timeout: 20_000 }).toContain(
        `Suggestion ${n} of 5`,
      );
      const article = review.getByRole('article');
      const name = (await article.getAttribute('aria-label')) ?? '';
      seen.push(name);
      if (n === 1) {
        await expectAccessible(page, 'a batch under review');
        await screenshots(page, 'workflow-batch-review');
      }
      await article.getByRole('button', { name: n === 2 ? 'Reject' : 'Accept', exact: true }).click();
      await eventually(
        () =>
          review
            .getByRole('article')
            .getAttribute('aria-label', { timeout: 500 })
            .catch(() => 'none'),
        { timeout: 20_000 },
      ).not.toBe(name);
    }
    expect(new Set(seen).size).toBe(5);
    await eventually(() => review.getByRole('status').textContent(), { timeout: 20_000 }).toContain('5 suggestions decided');
    expect(errors).toEqual([]);
    await close();
  }, 180_000);
});
