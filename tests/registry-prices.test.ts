import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { editor, outbox, registryApi, viewer, type Json } from './registry-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry'] });
afterAll(() => stack.stop());
const api = registryApi(stack);
let n = 0;

async function modelWithPrices() {
  const provider = await api('POST', '/providers', { name: `prices-${++n}`, kind: 'ollama', base_url: 'http://127.0.0.1:9' });
  expect(provider.status, provider.text).toBe(201);
  const created = await api('POST', '/models', {
    provider_id: provider.body.id,
    provider_model_id: `m-${n}`,
    price: { input_per_mtok: 1, output_per_mtok: 2 },
  });
  expect(created.status, created.text).toBe(201);
  const future = new Date(Date.now() + 86_400_000).toISOString();
  const scheduled = await api('PATCH', `/models/${created.body.id}`, {
    price: { input_per_mtok: 30, output_per_mtok: 40, effective_from: future },
  });
  expect(scheduled.status, scheduled.text).toBe(200);
  return { model: scheduled.body, current: created.body.price.effective_from as string, future };
}

const path = (id: string, at: string) => `/models/${id}/prices/${encodeURIComponent(at)}`;

async function audits(action: string, id: string): Promise<Json[]> {
  return (await outbox(db, 'audit.change.recorded'))
    .map((e) => e.payload)
    .filter((p) => p.action === action && p.resource.id === id);
}

describe('a scheduled price', () => {
  it('can be withdrawn before it takes effect: gone from the model, its event and the history, audited', async () => {
    const { model, future } = await modelWithPrices();
    expect(model.prices).toHaveLength(2);
    const withdrawn = await api('DELETE', path(model.id, future));
    expect(withdrawn.status, withdrawn.text).toBe(200);
    expect(withdrawn.body.prices.map((p: Json) => p.input_per_mtok)).toEqual(['1.000000000000']);
    expect((await api('GET', `/models/${model.id}`, undefined, { as: viewer })).body.prices).toHaveLength(1);
    const events = (await outbox(db, 'registry.model.changed')).filter((e) => e.payload.model_id === model.id);
    expect(events.at(-1)?.payload.model.prices).toHaveLength(1);
    const [audit] = await audits('model.price_withdrawn', model.id);
    expect(audit?.before.prices).toHaveLength(2);
    expect(audit?.after.prices).toHaveLength(1);
    // Withdrawn once: a second time there is nothing to withdraw.
    expect((await api('DELETE', path(model.id, future))).status).toBe(404);
  });

  it('can be replaced (new figures, or moved to another future time), audited', async () => {
    const { model, future } = await modelWithPrices();
    const corrected = await api('PUT', path(model.id, future), { input_per_mtok: '3', output_per_mtok: '4' });
    expect(corrected.status, corrected.text).toBe(200);
    expect(corrected.body.prices[0]).toMatchObject({
      input_per_mtok: '3.000000000000',
      output_per_mtok: '4.000000000000',
      effective_from: future,
    });
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const moved = await api('PUT', path(model.id, future), { input_per_mtok: 3, output_per_mtok: 4, effective_from: later });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body.prices.map((p: Json) => p.effective_from)).toEqual([later, model.prices[1].effective_from]);
    expect(await audits('model.price_replaced', model.id)).toHaveLength(2);
    const past = await api('PUT', path(model.id, later), {
      input_per_mtok: 3,
      output_per_mtok: 4,
      effective_from: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(422);
    expect(past.body.errors[0].field).toBe('body.effective_from');
    // Refused as a whole: the price it would have replaced is still there.
    expect((await api('GET', `/models/${model.id}`)).body.prices[0].effective_from).toBe(later);
  });

  it('already in effect cannot be withdrawn or replaced: a 409 saying why', async () => {
    const { model, current } = await modelWithPrices();
    const withdraw = await api('DELETE', path(model.id, current));
    expect(withdraw.status).toBe(409);
    expect(withdraw.headers.get('content-type')).toContain('application/problem+json');
    expect(withdraw.body.detail).toMatch(/in effect since .*attempts were charged it/);
    const replace = await api('PUT', path(model.id, current), { input_per_mtok: 0, output_per_mtok: 0 });
    expect(replace.status).toBe(409);
    expect((await api('GET', `/models/${model.id}`)).body.prices).toHaveLength(2);
  });

  it('is changed by admins only (as models are), and a bad timestamp is a 4xx naming it', async () => {
    const { model, future } = await modelWithPrices();
    expect((await api('DELETE', path(model.id, future), undefined, { as: viewer })).status).toBe(403);
    expect((await api('PUT', path(model.id, future), { input_per_mtok: 1, output_per_mtok: 1 }, { as: editor })).status).toBe(
      403,
    );
    const bad = await api('DELETE', `/models/${model.id}/prices/tomorrow`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toContain('effective_from');
  });
});

describe('a price amount', () => {
  it('is kept exactly as given, as a number or a string, or refused: never rounded to six places', async () => {
    const { model } = await modelWithPrices();
    const at = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    // Six places, as a JSON number: 1e-6 prints as 0.000001.
    const exact = await api('PUT', path(model.id, model.prices[0].effective_from), {
      input_per_mtok: 0.000001,
      output_per_mtok: 0.15,
    });
    expect(exact.status, exact.text).toBe(200);
    expect(exact.body.prices[0]).toMatchObject({ input_per_mtok: '0.000001000000', output_per_mtok: '0.150000000000' });
    // Seven places would be rounded by numeric(14, 6) (5e-7 to 0.000001, 0.1234567 to 0.123457): refused alike.
    for (const [field, value] of [
      ['input_per_mtok', 5e-7],
      ['output_per_mtok', 0.1234567],
      ['input_per_mtok', '0.0000005'],
      ['per_image', 0.0400001],
    ] as const) {
      const refused = await api('PATCH', `/models/${model.id}`, {
        price: { input_per_mtok: 1, output_per_mtok: 1, [field]: value, effective_from: at(3) },
      });
      expect(refused.status, `${field} ${value}: ${refused.text}`).toBe(422);
      expect(refused.body.errors[0].field).toBe(`body.price.${field}`);
    }
  });
});
