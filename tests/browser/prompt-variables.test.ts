/// <reference lib="dom" />
/**
 * Typed variables in the template editor, in headless Chromium against the real gateway and prompt
 * service: the variables a template's text reads are declared in one click each, given a type, a default
 * and a description (a default that does not fit its type is refused beside its field), the preview's
 * inputs form turns into controls of those types and renders with them, and the saved draft keeps the
 * declarations. axe runs on the page; it is photographed at desktop and phone width.
 */
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
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

describe('typed variables in the template editor', () => {
  let stack: Stack;
  let gateway: RunningService;
  let web: WebServer;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [stack, browser] = await Promise.all([startStack({ db, services: ['registry', 'prompt'] }), launchBrowser()]);
    const env = {
      ...gatewayEnv(db.urlFor('gateway')),
      LLMOPS_INTERNAL_SECRET: stack.secret,
      ...Object.fromEntries(Object.entries(stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    };
    gateway = await runService('gateway', gatewayBuilder(env), { env });
    [web] = await Promise.all([startWeb(gateway.url), createAccountAsOperator(db.adminUrl, EDITOR)]);
  });

  afterAll(async () => {
    await Promise.all([browser?.close(), web?.stop()]);
    await gateway?.stop();
    await stack?.stop();
  });

  it('declares a number and an optional boolean, and the inputs form and the preview follow their types', async () => {
    const created = await stack.call('prompt', '/api/v1/templates', {
      method: 'POST',
      body: JSON.stringify({
        name: 'Bread post',
        messages: [
          {
            role: 'user',
            entries: [
              { type: 'text', text: 'Write about {{ topic }} in {{ count }} paragraphs{% if urgent %}, urgently{% endif %}.' },
            ],
          },
        ],
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    const context = await browser.newContext({ viewport: DESKTOP });
    await signIn(context, web.url, EDITOR.email, EDITOR.password);
    const page = await context.newPage();
    const errors = await watchErrors(page);
    await open(page, `${web.url}/llm/templates/${id}`);
    const variables = page.getByRole('region', { name: 'Variables' });
    const inputs = page.getByRole('region', { name: 'Inputs' });
    const save = page.getByRole('button', { name: 'Save draft' });

    // Undeclared, every variable is a text box; declaring one types it.
    expect(await inputs.locator('input[type="number"]').count()).toBe(0);
    await variables.getByRole('button', { name: 'Declare count' }).click();
    const count = variables.getByRole('group', { name: 'Variable count' });
    await count.getByLabel('Type').selectOption('number');
    await count.getByLabel('Default').fill('three');
    await count.getByText('Expected a number, e.g. 3 or 2.5.').waitFor();
    expect(await save.isDisabled()).toBe(true);
    await count.getByLabel('Default').fill('3');
    await count.getByLabel('Description').fill('How many paragraphs');
    await count.getByLabel('Required').uncheck();

    await variables.getByRole('button', { name: 'Declare urgent' }).click();
    const urgent = variables.getByRole('group', { name: 'Variable urgent' });
    await urgent.getByLabel('Type').selectOption('boolean');
    await urgent.getByLabel('Required').uncheck();

    // The preview's form: a number field with its default and description as the hint, true/false for the boolean.
    await expect.poll(() => inputs.locator('input[type="number"]').count()).toBe(1);
    expect(await inputs.getByText('How many paragraphs. If not given: 3.').count()).toBe(1);
    await inputs.getByLabel('topic').fill('rye');
    await inputs.getByLabel('urgent').selectOption('true');
    const rendered = page.getByRole('region', { name: 'What would be sent' });
    await expect.poll(() => rendered.textContent()).toContain('Write about rye in 3 paragraphs, urgently.');
    await inputs.getByLabel('count').fill('5');
    await expect.poll(() => rendered.textContent()).toContain('Write about rye in 5 paragraphs, urgently.');
    await expectAccessible(page, 'a template with typed variables');
    await screenshots(page, 'prompt-variables');

    // Saved with the draft: the API and a reload show the declarations.
    await save.click();
    await page.getByRole('status').filter({ hasText: 'Draft saved' }).waitFor();
    const template = (await (await stack.call('prompt', `/api/v1/templates/${id}`)).json()) as { variables: unknown[] };
    expect(template.variables).toEqual([
      { name: 'count', type: 'number', required: false, description: 'How many paragraphs', default: 3 },
      { name: 'urgent', type: 'boolean', required: false, description: '' },
    ]);
    await reload(page);
    expect(await variables.getByRole('group', { name: 'Variable count' }).getByLabel('Default').inputValue()).toBe('3');
    expect(await inputs.locator('select').count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });
});
