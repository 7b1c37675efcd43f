/**
 * The last-admin rule (docs/security.md): an instance always keeps an active human admin. Two admins
 * demoting or disabling each other at the same moment leave one of them admin (many raced rounds through
 * the API), and the automation account `token create` makes without `--account` does not count as one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '@llmops/kit/db';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { createAccountAsOperator, createTokenAsOperator } from '@llmops/gateway/operator';
import { PASSWORD, startGateway, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

const ROUNDS = 8;

type Change = { role: 'editor' } | { disabled: true };
const DEMOTE: Change = { role: 'editor' };
const DISABLE: Change = { disabled: true };

interface Admin {
  id: string;
  email: string;
  token: string;
}

/** Which of the accounts `ids` are active admins now (the database's view, sorted). */
async function activeAdmins(ids: string[]): Promise<string[]> {
  return withClient(db.adminUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM gateway.accounts WHERE id = ANY($1::uuid[]) AND role = 'admin' AND disabled_at IS NULL ORDER BY id`,
      [ids],
    );
    return rows.map((row) => row.id);
  });
}

describe('the last-admin rule', () => {
  let gw: GatewayHarness;
  let automation: string;
  let admins: [Admin, Admin];

  const patch = (by: Admin | string, id: string, change: Record<string, unknown>) =>
    gw.api(`/api/v1/accounts/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${typeof by === 'string' ? by : by.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(change),
    });

  beforeAll(async () => {
    gw = await startGateway(db, { services: [] });
    // The CLI's automation admin: an admin account with a token, but nobody who can sign in.
    automation = (await createTokenAsOperator(db.adminUrl, { role: 'admin', name: 'deploy script' })).secret;
    const made = await Promise.all(
      ['first', 'second'].map(async (name) => {
        const email = `${name}.admin@example.com`;
        const account = await createAccountAsOperator(db.adminUrl, { email, name, role: 'admin', password: PASSWORD });
        return { id: account.id, email, token: (await gw.token(email, 'admin')).secret };
      }),
    );
    admins = made as [Admin, Admin];
  });
  afterAll(() => gw?.stop());
  const humans = () => activeAdmins(admins.map((admin) => admin.id));

  it('keeps one admin when two demote or disable each other at the same moment, round after round', async () => {
    const plans: [Change, Change][] = [
      [DEMOTE, DEMOTE],
      [DISABLE, DISABLE],
      [DEMOTE, DISABLE],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      const [a, b] = admins;
      const [changeB, changeA] = plans[round % plans.length] as [Change, Change];
      const answers = await Promise.all([patch(a, b.id, changeB), patch(b, a.id, changeA)]);
      const statuses = answers.map((answer) => answer.status);
      const plan = `round ${round}: ${JSON.stringify(changeB)} / ${JSON.stringify(changeA)}: ${statuses.join(', ')}`;
      // One wins. The other is refused by the rule (409) when both overlap; when it arrives after the
      // winner's commit, its sender is no admin any more (403) or is disabled (401) — refused all the same.
      expect(
        statuses.filter((status) => status === 200),
        plan,
      ).toHaveLength(1);
      const loserStatus = statuses.find((status) => status !== 200);
      expect([401, 403, 409], plan).toContain(loserStatus);
      if (loserStatus === 409) {
        const refused = answers[statuses.indexOf(409)] as Response;
        expect(((await refused.json()) as { detail: string }).detail).toMatch(/last active human admin/);
      }

      const winner = statuses[0] === 200 ? a : b;
      const loser = winner === a ? b : a;
      expect(await humans()).toEqual([winner.id]);

      // The winner restores the other for the next round; a disabled account's tokens stay ended, so it gets a new one.
      expect((await patch(winner, loser.id, { role: 'admin', disabled: false })).status).toBe(200);
      loser.token = (await gw.token(loser.email, 'admin')).secret;
      expect(await humans()).toEqual([a.id, b.id].toSorted());
    }
  });

  it('does not count the automation account: the last human admin cannot be demoted or disabled, even by it', async () => {
    const [a, b] = admins;
    expect((await patch(a, b.id, DEMOTE)).status).toBe(200);
    expect(await humans()).toEqual([a.id]);

    for (const change of [DEMOTE, DISABLE]) {
      for (const by of [a.token, automation]) {
        const refused = await patch(by, a.id, change);
        expect(refused.status).toBe(409);
        expect(((await refused.json()) as { detail: string }).detail).toMatch(/last active human admin/);
      }
    }
    expect(await humans()).toEqual([a.id]);

    // The automation admin itself is no one's last resort: the human admin may demote it.
    const session = (await (await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${automation}` } })).json()) as {
      account: { id: string; kind: string };
    };
    expect(session.account.kind).toBe('automation'); // the API says which accounts are people
    expect((await patch(a, session.account.id, DEMOTE)).status).toBe(200);
  });
});
