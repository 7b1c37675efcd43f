/**
 * The registry's lists in every order they offer (`sort`, ascending and with `-` descending), paged two
 * at a time: each order is the one a reader expects (names case-insensitively, ties by id in the same
 * direction, a missing price or model last either way), and the cursors walk every row exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { registryApi, viewer, type Json } from './registry-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry'] });
afterAll(() => stack.stop());
const api = registryApi(stack);

/** Every page of a list, `limit` at a time, as the cursors lead. */
async function walk(path: string, sort: string, limit = 2): Promise<Json[]> {
  const items: Json[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {
    const query = new URLSearchParams({ sort, limit: String(limit), ...(cursor ? { cursor } : {}) });
    const page = await api('GET', `${path}?${query}`, undefined, { as: viewer });
    expect(page.status, page.text).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error(`${path}?sort=${sort} did not end within 50 pages`);
}

type Value = string | number | null;

/** The order the API promises: by value (nulls last in both directions), ties by id, in the sort's direction. */
function expected(items: Json[], value: (item: Json) => Value, descending: boolean): string[] {
  const sign = descending ? -1 : 1;
  return [...items]
    .sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      if (x === null || y === null) return x === y ? sign * (a.id < b.id ? -1 : 1) : x === null ? 1 : -1;
      if (x !== y) return sign * (x < y ? -1 : 1);
      return sign * (a.id < b.id ? -1 : 1);
    })
    .map((item) => item.id);
}

async function checkEveryOrder(path: string, orders: Record<string, (item: Json) => Value>): Promise<void> {
  const all = await walk(path, 'created_at', 200);
  for (const [key, value] of Object.entries(orders)) {
    for (const descending of [false, true]) {
      const sort = `${descending ? '-' : ''}${key}`;
      const ids = (await walk(path, sort)).map((item) => item.id);
      expect(ids, sort).toEqual(expected(all, value, descending));
      expect(new Set(ids).size, sort).toBe(all.length);
    }
  }
}

const lower = (text: string) => text.toLowerCase();
const time = (text: string) => new Date(text).getTime();
/** Mixed case (names sort case-insensitively), letters only so any collation agrees. */
const NAMES = ['delta', 'Alpha', 'charlie', 'Bravo', 'foxtrot', 'echo'];
const providers: Json[] = [];
const models: Json[] = [];

beforeAll(async () => {
  for (const [index, name] of NAMES.entries()) {
    const kind = (['openai', 'ollama', 'anthropic'] as const)[index % 3];
    const created = await api('POST', '/providers', {
      name,
      kind,
      base_url: 'http://127.0.0.1:9/v1',
      ...(kind === 'anthropic' ? { api_key: 'sk-ant-test-1111' } : {}),
    });
    expect(created.status, created.text).toBe(201);
    providers.push(created.body);
  }
  // Prices with ties and gaps: two models share an input price, one has none.
  const prices = [['2', '8'], ['0.5', '1.5'], null, ['2', '3'], ['10', '30'], ['0.15', '0.6'], ['0.5', '20']];
  for (const [index, price] of prices.entries()) {
    const created = await api('POST', '/models', {
      provider_id: providers[index % providers.length].id,
      provider_model_id: `model-${index}`,
      // Two models share each name: ties are broken by id.
      display_name: NAMES[index % 3],
      ...(price ? { price: { input_per_mtok: price[0], output_per_mtok: price[1] } } : {}),
    });
    expect(created.status, created.text).toBe(201);
    models.push(created.body);
  }
});

describe('sorted lists, paged', () => {
  it('lists providers by name, kind or creation, each way', async () => {
    await checkEveryOrder('/providers', {
      name: (item) => lower(item.name),
      kind: (item) => item.kind,
      created_at: (item) => time(item.created_at),
    });
  });

  it('lists models by name, provider, price in force or creation, each way; a model with no price last', async () => {
    const providerName = new Map(providers.map((provider) => [provider.id, lower(provider.name)]));
    await checkEveryOrder('/models', {
      name: (item) => lower(item.display_name),
      provider: (item) => providerName.get(item.provider_id) ?? null,
      input_price: (item) => (item.price ? Number(item.price.input_per_mtok) : null),
      output_price: (item) => (item.price ? Number(item.price.output_per_mtok) : null),
      created_at: (item) => time(item.created_at),
    });
    const cheapestFirst = await walk('/models', 'input_price');
    expect(cheapestFirst.at(0).provider_model_id).toBe('model-5');
    expect(cheapestFirst.at(-1).price).toBeNull();
    expect((await walk('/models', '-input_price')).at(-1).price).toBeNull();
  });

  it('lists presets by name, model or creation, each way', async () => {
    for (const [index, name] of ['Drafts', 'summaries', 'alpha', 'Titles', 'brief'].entries()) {
      const created = await api('POST', '/presets', { name, model_id: models[(index * 3) % models.length].id });
      expect(created.status, created.text).toBe(201);
    }
    const modelName = new Map(models.map((model) => [model.id, lower(model.display_name)]));
    await checkEveryOrder('/presets', {
      name: (item) => lower(item.name),
      model: (item) => modelName.get(item.model_id) ?? null,
      created_at: (item) => time(item.created_at),
    });
  });

  it('refuses an order it does not offer, and a cursor made for another order, as problems that say what to send', async () => {
    const bad = await api('GET', '/models?sort=price', undefined, { as: viewer });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect(bad.body.errors).toEqual([
      expect.objectContaining({ field: 'query.sort', message: expect.stringContaining('input_price, -input_price') }),
    ]);

    const first = await api('GET', '/providers?sort=-name&limit=2', undefined, { as: viewer });
    const other = await api('GET', `/providers?sort=kind&cursor=${first.body.next_cursor}`, undefined, { as: viewer });
    expect(other.status).toBe(400);
    expect(other.body.errors).toEqual([{ field: 'query.cursor', message: 'this cursor continues sort=-name, not sort=kind' }]);
  });
});
