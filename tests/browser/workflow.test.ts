/// <reference lib="dom" />
/**
 * The workflow's pages in a real headless Chromium against the real gateway, registry, prompt service,
 * runner and workflow, with the provider emulator: an empty board that says how to start, a post started
 * from an idea, a value typed and autosaved, an action on the Idea step (defined through the API: its
 * admin pages come later) pressed as "Automate with LLM" — its prompt rendered from the post, the output
 * streamed in — its suggestion accepted, the field and its revisions, and the earlier value restored.
 * axe on every page shown; screenshots at desktop and phone width.
 */
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startRunnerHarness, type RunnerHarness } from '../runner-support.ts';
import { admin } from '../workflow-support.ts';
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

describe('the posts board and the post workspace', () => {
  let h: RunnerHarness;
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;
  let emulator: Emulator;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    emulator = await startEmulator();
    [h, browser] = await Promise.all([
      startRunnerHarness(db, emulator, { services: ['registry', 'prompt', 'runner', 'workflow'] }),
      launchBrowser(),
    ]);
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: h.stack.secret,
      ...Object.fromEntries(Object.entries(h.stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    gateway = await runService('gateway', gatewayBuilder(env), { env });
    [web] = await Promise.all([startWeb(gateway.url), createAccountAsOperator(db.adminUrl, EDITOR)]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await Promise.all([h?.stop(), emulator?.stop()]);
  });

  /** An action on the Idea step, as an admin defines it through the API: the idea in, a working title out. */
  async function defineAction(): Promise<void> {
    const { model } = await h.provider();
    const template = await h.call('prompt', 'POST', '/api/v1/templates', {
      name: 'title from the idea',
      variables: [{ name: 'idea', type: 'string' }],
      messages: [{ role: 'user', entries: [{ type: 'text', text: '{{ idea }}' }] }],
    });
    expect(template.status, JSON.stringify(template.body)).toBe(201);
    expect((await h.call('prompt', 'POST', `/api/v1/templates/${template.body.id}/publish`, {})).status).toBe(201);
    const stages = await h.call('workflow', 'GET', '/api/v1/workflow/stages');
    const idea = stages.body.items[0].substages[0].id as string;
    const response = await h.stack.call(
      'workflow',
      '/api/v1/workflow/actions',
      {
        method: 'POST',
        body: JSON.stringify({
          substage_id: idea,
          label: 'Suggest a title',
          template_id: template.body.id,
          model_id: model,
          inputs: { idea: { from: 'post_field', field: 'basic_idea' } },
          target_field: 'working_title',
        }),
      },
      admin,
    );
    expect(response.status, await response.clone().text()).toBe(201);
  }

  it('starts a post from an idea, automates a field with the LLM, accepts it and restores the earlier value', async () => {
    const context = await browser.newContext({ viewport: DESKTOP });
    await signIn(context, web.url, EDITOR.email, EDITOR.password);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const errors = await watchErrors(page);

    await open(page, `${web.url}/workflow`);
    expect(await page.getByRole('heading', { name: 'No posts yet' }).count()).toBe(1);
    await expectAccessible(page, 'the empty board');
    await screenshots(page, 'workflow-board-empty');

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
    await expect.poll(() => page.locator('[data-field="working_title"] [role="status"]').textContent()).toBe('Saved');

    await defineAction();
    await reload(page);
    await page.getByRole('group', { name: 'Automate with LLM' }).getByRole('button', { name: 'Suggest a title' }).click();
    const panel = page.getByRole('region', { name: 'Suggest a title' });
    await expect
      .poll(() => panel.getByRole('list', { name: 'Rendered messages' }).textContent())
      .toContain('Why the British drink tea at five');
    await expectAccessible(page, 'the Automate with LLM panel');
    await panel.getByRole('button', { name: 'Run' }).click();
    await expect
      .poll(() => panel.getByLabel('Output').textContent(), { timeout: 20_000 })
      .toBe('You said: Why the British drink tea at five');
    await screenshots(page, 'workflow-automate');

    const review = page.getByRole('article', { name: 'Suggestion for Working title' });
    await expect.poll(() => review.count(), { timeout: 20_000 }).toBe(1);
    expect(await review.getByRole('table').textContent()).toContain('Five o’clock tea');
    await expectAccessible(page, 'a suggestion to review');
    await screenshots(page, 'workflow-review');
    await review.getByRole('button', { name: 'Accept', exact: true }).click();
    await expect.poll(() => title.inputValue()).toBe('You said: Why the British drink tea at five');
    await expect.poll(() => review.count()).toBe(0);

    const history = page.locator('[data-field="working_title"] details');
    await history.locator('summary').click();
    await expect.poll(() => history.getByRole('listitem').count()).toBe(2);
    await history.getByRole('button', { name: 'Restore this value' }).click();
    await expect.poll(() => title.inputValue()).toBe('Five o’clock tea');
    await expect.poll(() => history.getByRole('listitem').count()).toBe(3);
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
    await context.close();
  }, 120_000);
});
