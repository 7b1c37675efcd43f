import type { Usage } from '@llmops/kit/adapters/types';
import type { Queryable } from '@llmops/kit/db';
import { usdText, usdUnits } from '@llmops/kit/money';

/*
 * What a task costs, in one place (docs/tasks.md#cost): the price in force for a model, what a claim
 * estimates and reserves under a provider's monthly spend cap, and what an attempt actually cost and is
 * charged. Money is SQL numeric(20, 12) in the tables and kit's one format here ("0.000002850000",
 * twelve places): amounts are added and compared as integers of 10⁻¹² USD, never as floats. Prices have
 * at most six places per million tokens, so a token's cost is a whole number of 10⁻¹² USD and an
 * attempt's cost is exact: a month of cheap calls adds up to the bill.
 */

/** A model's price as the runner's copy holds it: USD per million tokens, and per image (numeric as text). */
export interface Price {
  input_per_mtok: string;
  output_per_mtok: string;
  cached_input_per_mtok: string | null;
  per_image: string | null;
  effective_from: string;
}

const PER_MTOK = 1_000_000n;

/** Tokens at a price per million tokens plus images at a price each, in 10⁻¹² USD (rounded half away from zero, which six-place prices never need). */
function priced(tokens: readonly [count: number, perMtok: string][], images: number, perImage: string | null): string {
  let perMillion = 0n;
  for (const [count, perMtok] of tokens) perMillion += BigInt(count) * usdUnits(perMtok);
  const half = PER_MTOK / 2n;
  const units = perMillion < 0n ? -((-perMillion + half) / PER_MTOK) : (perMillion + half) / PER_MTOK;
  return usdText(units + BigInt(images) * usdUnits(perImage ?? '0'));
}

/**
 * What an attempt cost at the price in force when it started: input tokens that were cached at the
 * cached price when the model has one, the rest of the input and the output at theirs, plus its
 * images. A model without a price costs 0.
 */
export function attemptCost(price: Price | null, usage: Usage | null, images: number): string {
  if (price === null) return usdText(0n);
  const input = usage?.input_tokens ?? 0;
  const cached = usage?.cached_input_tokens ?? 0;
  return priced(
    [
      [input - cached, price.input_per_mtok],
      [cached, price.cached_input_per_mtok ?? price.input_per_mtok],
      [usage?.output_tokens ?? 0, price.output_per_mtok],
    ],
    images,
    price.per_image,
  );
}

/** What a claim knows of a task's size (store.Candidate has it): its prompt's tokens, the most it may write, its images. */
export interface TaskSize {
  kind: 'chat' | 'image';
  estimated_input_tokens: number;
  max_output_tokens: number | null;
  images: number;
}

/**
 * The most an attempt may cost, for a reservation: a chat's prompt estimate and the most it may write
 * (`defaultMaxOutputTokens` when neither the task nor its model says), or an image task's images.
 */
export function estimate(price: Price | null, size: TaskSize, defaultMaxOutputTokens: number): string {
  if (price === null) return usdText(0n);
  if (size.kind === 'image') return priced([], size.images, price.per_image);
  return priced(
    [
      [size.estimated_input_tokens, price.input_per_mtok],
      [size.max_output_tokens ?? defaultMaxOutputTokens, price.output_per_mtok],
    ],
    0,
    null,
  );
}

/**
 * Which reservations fit under a cap, in the order given: a task fits while what the month has spent
 * and reserved plus its estimate stays at or under the cap; one that does not is refused, and a later,
 * cheaper one may still fit.
 */
export function fitUnderCap<T extends { amount: string }>(
  cap: string,
  committed: string,
  tasks: readonly T[],
): { reserve: T[]; refuse: T[] } {
  const limit = usdUnits(cap);
  let total = usdUnits(committed);
  const reserve: T[] = [];
  const refuse: T[] = [];
  for (const task of tasks) {
    const amount = usdUnits(task.amount);
    if (total + amount > limit) refuse.push(task);
    else {
      total += amount;
      reserve.push(task);
    }
  }
  return { reserve, refuse };
}

/**
 * The price in force for each model at `at` (default: the transaction's now()), from the runner's own
 * price history: the latest whose `effective_from` is not after it. Models without one are absent.
 */
export async function pricesInForce(db: Queryable, modelIds: readonly string[], at?: Date): Promise<Map<string, Price>> {
  const { rows } = await db.query<{ model_id: string; price: Price }>({
    name: 'runner.cost.prices',
    text: `SELECT m.id AS model_id, to_jsonb(pr) AS price
           FROM unnest($1::uuid[]) AS m(id)
           CROSS JOIN LATERAL (
             SELECT input_per_mtok::text, output_per_mtok::text, cached_input_per_mtok::text, per_image::text, effective_from
             FROM runner.model_prices p WHERE p.model_id = m.id AND p.effective_from <= coalesce($2::timestamptz, now())
             ORDER BY p.effective_from DESC LIMIT 1) pr`,
    values: [[...new Set(modelIds)], at ?? null],
  });
  return new Map(rows.map((row) => [row.model_id, row.price]));
}

/**
 * The price in force for each of these attempts when it started (attempts that end together, in one
 * statement), in the order given; null where its model has none. `runner.prices_at_start` (sql/runner/000026)
 * keeps one plan per connection: as a statement of its own, PostgreSQL planned it again at every call.
 */
export async function pricesAtStart(
  db: Queryable,
  attempts: readonly { model_id: string; started_at: Date }[],
): Promise<(Price | null)[]> {
  const { rows } = await db.query<{ n: string; price: Price | null }>({
    name: 'runner.cost.prices_at_start',
    text: 'SELECT n, price FROM runner.prices_at_start($1::uuid[], $2::timestamptz[])',
    values: [attempts.map((a) => a.model_id), attempts.map((a) => a.started_at)],
  });
  const byIndex = new Map(rows.map((row) => [Number(row.n) - 1, row.price]));
  return attempts.map((_, i) => byIndex.get(i) ?? null);
}

/** The UTC month (its first day) of now, for provider_spend rows. */
const MONTH_OF_NOW = `date_trunc('month', now() AT TIME ZONE 'UTC')::date`;

/**
 * The spend row of a provider's current month, made on its first claim under a cap with what its
 * attempts already cost this month (so a cap set mid-month counts the month's spend so far). Only
 * providers with a cap have spend rows, so the calls of uncapped providers never queue on one hot row.
 */
async function ensureMonth(tx: Queryable, providerId: string): Promise<void> {
  await tx.query(
    `INSERT INTO runner.provider_spend (provider_id, month, spent_usd)
     SELECT $1, ${MONTH_OF_NOW}, coalesce(sum(cost_usd), 0) FROM runner.attempts
     WHERE provider_id = $1 AND ended_at IS NOT NULL
       AND started_at >= (${MONTH_OF_NOW})::timestamp AT TIME ZONE 'UTC'
     ON CONFLICT (provider_id, month) DO NOTHING`,
    [providerId],
  );
}

/** Locks the provider's month: what it has spent and reserved, as one amount. */
async function lockMonth(tx: Queryable, providerId: string): Promise<string> {
  const { rows } = await tx.query<{ committed: string }>(
    `SELECT (spent_usd + reserved_usd)::text AS committed FROM runner.provider_spend
     WHERE provider_id = $1 AND month = ${MONTH_OF_NOW} FOR UPDATE`,
    [providerId],
  );
  return rows[0]?.committed ?? '0';
}

async function addReserved(tx: Queryable, providerId: string, amounts: readonly string[]): Promise<void> {
  await tx.query(
    `UPDATE runner.provider_spend SET reserved_usd = reserved_usd + (SELECT sum(x) FROM unnest($2::numeric[]) x)
     WHERE provider_id = $1 AND month = ${MONTH_OF_NOW}`,
    [providerId, amounts],
  );
}

async function holdOnTasks(tx: Queryable, providerId: string, held: readonly { id: string; amount: string }[]): Promise<void> {
  await tx.query(
    `UPDATE runner.tasks t SET reserved_usd = r.amount, reserved_provider_id = $3, reserved_month = ${MONTH_OF_NOW}
     FROM unnest($1::uuid[], $2::numeric[]) AS r(id, amount) WHERE t.id = r.id`,
    [held.map((r) => r.id), held.map((r) => r.amount), providerId],
  );
}

/**
 * Reserves each task's estimate on its provider's month under the row lock of that month, in the
 * claim's transaction, so concurrent runners can never reserve past the cap (months are UTC calendar
 * months). Answers the tasks that did not fit: they must not run.
 */
async function reserve<T extends { id: string; amount: string }>(
  tx: Queryable,
  providerId: string,
  cap: string,
  tasks: readonly T[],
): Promise<T[]> {
  await ensureMonth(tx, providerId);
  const { reserve: fit, refuse } = fitUnderCap(cap, await lockMonth(tx, providerId), tasks);
  if (fit.length > 0) {
    await addReserved(
      tx,
      providerId,
      fit.map((task) => task.amount),
    );
    await holdOnTasks(tx, providerId, fit);
  }
  return refuse;
}

/** A task a claim is about to start, as a reservation sees it. */
export interface Claiming extends TaskSize {
  id: string;
  provider_id: string;
  model_id: string;
  reserved_usd: string;
}

/**
 * Reserves, at today's price, the estimate of each task of a provider with a monthly spend cap
 * (`caps`: provider id → cap in USD) that holds no reservation yet. Answers the tasks that would take
 * their provider past its cap, each with that cap.
 */
export async function reserveUnderCaps(
  tx: Queryable,
  tasks: readonly Claiming[],
  caps: ReadonlyMap<string, string>,
  defaultMaxOutputTokens: number,
): Promise<{ id: string; cap: string }[]> {
  const capped = tasks.filter((task) => caps.has(task.provider_id) && usdUnits(task.reserved_usd) === 0n);
  if (capped.length === 0) return [];
  const prices = await pricesInForce(
    tx,
    capped.map((task) => task.model_id),
  );
  const refused: { id: string; cap: string }[] = [];
  for (const [providerId, ofProvider] of Map.groupBy(capped, (task) => task.provider_id)) {
    const cap = caps.get(providerId) as string;
    const estimates = ofProvider.map((task) => ({
      id: task.id,
      amount: estimate(prices.get(task.model_id) ?? null, task, defaultMaxOutputTokens),
    }));
    for (const task of await reserve(tx, providerId, cap, estimates)) refused.push({ id: task.id, cap });
  }
  return refused;
}

/** What a task holds reserved, as its row has it (a `date` column comes back from pg as a Date). */
export interface Reservation {
  id: string;
  reserved_usd: string;
  reserved_provider_id: string | null;
  reserved_month: string | null;
}

/** Gives back what a task reserved (in the caller's transaction), when its attempt ends or it moves on; nothing when it holds nothing. */
export async function release(tx: Queryable, task: Reservation): Promise<void> {
  if (task.reserved_provider_id === null || usdUnits(task.reserved_usd) === 0n) return;
  await tx.query(
    `UPDATE runner.provider_spend SET reserved_usd = greatest(0, reserved_usd - $3::numeric)
     WHERE provider_id = $1 AND month = $2::date`,
    [task.reserved_provider_id, task.reserved_month, task.reserved_usd],
  );
  await tx.query(`UPDATE runner.tasks SET reserved_usd = 0, reserved_provider_id = NULL, reserved_month = NULL WHERE id = $1`, [
    task.id,
  ]);
}

/** Adds an attempt's actual cost to its provider's month (the month the attempt started), when the provider keeps one. */
export async function charge(tx: Queryable, providerId: string, startedAt: Date, costUsd: string): Promise<void> {
  if (usdUnits(costUsd) === 0n) return;
  await tx.query(
    `UPDATE runner.provider_spend SET spent_usd = spent_usd + $3::numeric
     WHERE provider_id = $1 AND month = date_trunc('month', $2::timestamptz AT TIME ZONE 'UTC')::date`,
    [providerId, startedAt, costUsd],
  );
}
