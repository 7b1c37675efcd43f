/**
 * The least role of every public route is enforced by the service that owns it (ADR 0006), not only by
 * the gateway: called directly with a signed identity, as the gateway would, a caller below the route's
 * role gets 403 before its parameters or body are looked at, and the route's own role gets past the check.
 * The routes come from the contracts' list, so a new route is covered as soon as it is listed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PUBLIC_ROUTES, type PublicRoute } from '@llmops/kit/contracts/index';
import type { Identity, Role } from '@llmops/kit/http/identity';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry', 'prompt', 'runner', 'workflow'] });
afterAll(() => stack.stop());

const BELOW: Record<Role, Role[]> = { admin: ['editor', 'viewer'], editor: ['viewer'], viewer: [] };

const account = (role: Role): Identity => ({ kind: 'account', subject: `${role}-1`, role, scopes: [], requestId: 'roles' });

/** A route's path with every parameter filled (a value of the wrong kind is fine: the role comes first). */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d');

/** Calls the owning service as `role`; a route that takes a body gets one that fits no schema. */
async function status(entry: PublicRoute, role: Role): Promise<{ status: number; detail: string }> {
  const { method, path, request } = entry.route;
  const init: RequestInit = { method: method.toUpperCase() };
  if (request?.body) init.body = JSON.stringify({ not: 'a valid body' });
  const response = await stack.call(entry.service, concrete(path), init, account(role));
  const body = (await response.json().catch(() => ({}))) as { detail?: string };
  return { status: response.status, detail: body.detail ?? '' };
}

const label = (entry: PublicRoute, role: Role) => `${entry.route.method.toUpperCase()} ${entry.route.path} as ${role}`;

describe('the least role of every public route, at the owning service', () => {
  it('refuses every role below the route’s with 403 naming the role needed, whatever the request', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const entry of PUBLIC_ROUTES) {
      for (const role of BELOW[entry.role]) {
        const answer = await status(entry, role);
        checked++;
        if (answer.status !== 403 || !answer.detail.includes(`needs the ${entry.role} role`))
          wrong.push(`${label(entry, role)}: ${answer.status} ${answer.detail}`);
      }
    }
    expect(wrong).toEqual([]);
    // Every write is for editors or admins: a viewer is refused at least one call per write route.
    expect(checked).toBeGreaterThanOrEqual(PUBLIC_ROUTES.filter((entry) => entry.role !== 'viewer').length);
  });

  it('lets the route’s own role past the role check', async () => {
    const refused: string[] = [];
    for (const entry of PUBLIC_ROUTES) {
      const answer = await status(entry, entry.role);
      if (answer.status === 403) refused.push(`${label(entry, entry.role)}: ${answer.detail}`);
    }
    expect(refused).toEqual([]);
  });
});
