import { many, maybeOne, type Queryable } from '@llmops/kit/db';
import type { TaskStatus } from '@llmops/kit/contracts/runner';
import { TASK_COLUMN_NAMES, TASK_COLUMNS, type AttemptRow, type TaskRow } from '../tasks/task.ts';

/** What GET /api/v1/tasks filters on; every given field must match. */
export interface TaskFilter {
  /** The id of the last task of the previous page: older ones only (ids are UUIDv7, so id order is creation order). */
  before?: string | undefined;
  statuses?: readonly TaskStatus[] | undefined;
  templateId?: string | undefined;
  templateLabel?: string | undefined;
  modelId?: string | undefined;
  providerId?: string | undefined;
  presetId?: string | undefined;
  groupId?: string | undefined;
  retryOf?: string | undefined;
  /** A JSON object the task's correlation must contain (`@>`). */
  correlation?: Record<string, unknown> | undefined;
  /** Created at or after this time, and before `createdBefore` (a half-open window). */
  createdAfter?: string | undefined;
  createdBefore?: string | undefined;
  /** Words that must all appear in the output (the `simple` configuration, as the GIN index is built). */
  text?: string | undefined;
  includeOutput: boolean;
  limit: number;
}

/** Every column of runner.tasks but the output (a list may leave it out: see `list`). */
const WITHOUT_OUTPUT = TASK_COLUMN_NAMES.filter((name) => name !== 'output_text')
  .map((name) => `t.${name}`)
  .join(', ');

/**
 * The list's filters, `$1`–`$13` of `listValues`; a null parameter leaves its filter out. One status is
 * compared with `=`, not `= ANY`: the planner then knows every row it finds through tasks_ended_status_idx
 * (status, id DESC, of ended tasks) has that status, so that index gives the list's order, and "failed on one
 * model" reads failed tasks newest first instead of walking every task (docs/bench.md 10.). The search says
 * `output_text IS NOT NULL`, the predicate of its partial GIN index (sql/runner/000025).
 */
const LIST_WHERE = `($1::uuid IS NULL OR t.id < $1)
       AND ($2::text[] IS NULL OR (cardinality($2::text[]) = 1 AND t.status = ($2::text[])[1])
         OR (cardinality($2::text[]) > 1 AND t.status = ANY($2::text[])))
       AND ($3::uuid IS NULL OR t.template_id = $3)
       AND ($4::text IS NULL OR t.template_label = $4)
       AND ($5::uuid IS NULL OR t.model_id = $5)
       AND ($6::uuid IS NULL OR t.provider_id = $6)
       AND ($7::uuid IS NULL OR t.preset_id = $7)
       AND ($8::uuid IS NULL OR t.group_id = $8)
       AND ($9::uuid IS NULL OR t.retry_of = $9)
       AND ($10::jsonb IS NULL OR t.correlation @> $10::jsonb)
       AND ($11::timestamptz IS NULL OR t.created_at >= $11)
       AND ($12::timestamptz IS NULL OR t.created_at < $12)
       AND ($13::text IS NULL OR (t.output_text IS NOT NULL AND t.output_search @@ plainto_tsquery('simple', $13)))`;

function listValues(filter: TaskFilter): unknown[] {
  return [
    filter.before ?? null,
    filter.statuses ?? null,
    filter.templateId ?? null,
    filter.templateLabel ?? null,
    filter.modelId ?? null,
    filter.providerId ?? null,
    filter.presetId ?? null,
    filter.groupId ?? null,
    filter.retryOf ?? null,
    filter.correlation === undefined ? null : JSON.stringify(filter.correlation),
    filter.createdAfter ?? null,
    filter.createdBefore ?? null,
    filter.text ?? null,
    filter.includeOutput,
    filter.limit,
  ];
}

/** How many of the newest tasks a search or a correlation filter is first looked for in. */
const RECENT_WINDOW = 10_000;

/**
 * Tasks newest first. Without `includeOutput`, the output is not even read from the table.
 *
 * A search or a correlation takes two steps. PostgreSQL cannot know how rare a word or a correlation is (a
 * word it has no statistics for, a post's id inside a JSON object), and walking the primary key newest
 * first in search of a rare one read a whole year of tasks (3.4 s at 1,000,000; docs/bench.md, 10.). So
 * the page is first looked for among the RECENT_WINDOW newest tasks only; a common word fills it there.
 * Only when it does not (the matches are rarer than one in 200) are all the matches read from their GIN
 * index and the newest of them kept: few, because they are rare.
 *
 * A time window also takes two steps, in one statement: the page's ids, then its rows (below).
 */
export async function list(db: Queryable, filter: TaskFilter): Promise<TaskRow[]> {
  const values = listValues(filter);
  const select = `SELECT ${WITHOUT_OUTPUT}, CASE WHEN $14::boolean THEN t.output_text END AS output_text`;
  if (filter.text === undefined && filter.correlation === undefined) {
    if (filter.createdAfter === undefined && filter.createdBefore === undefined)
      return many<TaskRow>(db, `${select} FROM runner.tasks t WHERE ${LIST_WHERE} ORDER BY t.id DESC LIMIT $15`, values);
    // A time window: the page's ids first, so a narrow window's newest ids come from tasks_created_id_idx
    // alone (its rows sorted by id without being read), and only the page's rows are read.
    return many<TaskRow>(
      db,
      `${select}
       FROM runner.tasks t
       WHERE t.id IN (SELECT t.id FROM runner.tasks t WHERE ${LIST_WHERE} ORDER BY t.id DESC LIMIT $15)
       ORDER BY t.id DESC`,
      values,
    );
  }
  const recent = await many<TaskRow>(
    db,
    `${select}
     FROM (SELECT * FROM runner.tasks r WHERE ($1::uuid IS NULL OR r.id < $1) ORDER BY r.id DESC LIMIT ${RECENT_WINDOW}) t
     WHERE ${LIST_WHERE}
     ORDER BY t.id DESC
     LIMIT $15`,
    values,
  );
  if (recent.length >= filter.limit) return recent;
  return many<TaskRow>(
    db,
    `WITH matched AS MATERIALIZED (SELECT t.id FROM runner.tasks t WHERE ${LIST_WHERE})
     ${select}
     FROM runner.tasks t
     WHERE t.id IN (SELECT id FROM matched ORDER BY id DESC LIMIT $15)
     ORDER BY t.id DESC`,
    values,
  );
}

export function get(db: Queryable, id: string): Promise<TaskRow | undefined> {
  return maybeOne<TaskRow>(db, `SELECT ${TASK_COLUMNS} FROM runner.tasks WHERE id = $1`, [id]);
}

/** Only the status, for the poll of a synchronous read (`wait`). */
export async function status(db: Queryable, id: string): Promise<TaskStatus | undefined> {
  const row = await maybeOne<{ status: TaskStatus }>(db, 'SELECT status FROM runner.tasks WHERE id = $1', [id]);
  return row?.status;
}

export function attempts(db: Queryable, taskId: string): Promise<AttemptRow[]> {
  return many<AttemptRow>(db, 'SELECT * FROM runner.attempts WHERE task_id = $1 ORDER BY number', [taskId]);
}

/** An image's metadata, without its bytes. */
export interface ImageMeta {
  index: number;
  content_type: string;
  size_bytes: number;
  revised_prompt: string | null;
}

export function images(db: Queryable, taskId: string): Promise<ImageMeta[]> {
  return many<ImageMeta>(
    db,
    'SELECT index, content_type, size_bytes, revised_prompt FROM runner.images WHERE task_id = $1 ORDER BY index',
    [taskId],
  );
}

export function image(db: Queryable, taskId: string, index: number): Promise<{ content_type: string; data: Buffer } | undefined> {
  return maybeOne(db, 'SELECT content_type, data FROM runner.images WHERE task_id = $1 AND index = $2', [taskId, index]);
}

/** Ids of the tasks that retried this one, oldest first. */
export async function retries(db: Queryable, taskId: string): Promise<string[]> {
  const rows = await many<{ id: string }>(db, 'SELECT id FROM runner.tasks WHERE retry_of = $1 ORDER BY id', [taskId]);
  return rows.map((row) => row.id);
}

export interface GroupRow {
  id: string;
  requester: string;
  correlation: Record<string, unknown> | null;
  created_at: Date;
}

export function group(db: Queryable, id: string): Promise<GroupRow | undefined> {
  return maybeOne<GroupRow>(db, 'SELECT * FROM runner.task_groups WHERE id = $1', [id]);
}

/** A group's tasks in creation order (= id order: UUIDv7). */
export function groupTasks(db: Queryable, groupId: string): Promise<TaskRow[]> {
  return many<TaskRow>(db, `SELECT ${TASK_COLUMNS} FROM runner.tasks WHERE group_id = $1 ORDER BY id`, [groupId]);
}

export type UsageGrouping = 'day' | 'model' | 'provider' | 'template';
export type UsageSplit = Exclude<UsageGrouping, 'day'>;

/**
 * One line of the usage rollup. `total` marks a line over every group, `whole` one over every split: the
 * group lines are `whole && !total`, the grand total `whole && total`; with a split, `!whole` lines are a
 * group's (or, with `total`, the window's) part for one `split` key.
 */
export interface UsageLine {
  key: string | null;
  split: string | null;
  total: boolean;
  whole: boolean;
  tasks: number;
  succeeded: number;
  failed: number;
  attempts: number;
  /** bigint sums, as text (pg's default for int8) */
  input_tokens: string;
  output_tokens: string;
  cached_input_tokens: string;
  /** numeric as text */
  cost_usd: string;
}

export interface UsageOptions {
  groupBy: UsageGrouping;
  splitBy: UsageSplit | null;
  tz: string;
  from: string | undefined;
  to: string | undefined;
}

// The window's edges as SQL over the rollup's parameters ($3 from, $4 to), written out where they are used
// (not joined from a CTE) so the planner sees them when it picks tasks_created_id_idx. Constants, never input.
const SINCE = `coalesce($3::timestamptz, '-infinity')`;
const UNTIL = `coalesce($4::timestamptz, 'infinity')`;
/** The first whole UTC hour at or after `from`, and the hour `to` falls in: buckets in [LO, HI) are inside. */
const LO = `coalesce(date_trunc('hour', $3::timestamptz - interval '1 microsecond', 'UTC') + interval '1 hour', '-infinity')`;
const HI = `coalesce(date_trunc('hour', $4::timestamptz, 'UTC'), 'infinity')`;
/**
 * Whether the zone `$2`'s offset from UTC passes `test` (SQL over `off`, in seconds) at the window's ends and
 * now, and half a year from each (the other side of daylight saving time).
 */
const zoneOffsets = (test: string) => `(SELECT coalesce(bool_and(${test}), false)
  FROM unnest(ARRAY[now(), $3::timestamptz, $4::timestamptz]) AS e(edge),
    LATERAL (VALUES (e.edge), (e.edge + interval '6 months')) AS v(at),
    LATERAL (SELECT extract(epoch FROM (v.at AT TIME ZONE $2::text) - (v.at AT TIME ZONE 'UTC'))::bigint AS off) o
  WHERE v.at IS NOT NULL)`;
/** Whether the buckets answer: always but for days in a zone whose offset from UTC is not whole hours. */
const BUCKETS_ANSWER = `($1::text <> 'day' OR ${zoneOffsets('off % 3600 = 0')})`;
/** Whether day rows stand for their 24 hours: for every grouping but days in a zone whose days are not UTC's. */
const DAYS_ANSWER = `($1::text <> 'day' OR ${zoneOffsets('off = 0')})`;
/** The first whole UTC day at or after `from`, and the day `to` falls in: day rows in [DAY_LO, DAY_HI) are inside. */
const DAY_LO = `CASE WHEN NOT ${DAYS_ANSWER} THEN 'infinity'::timestamptz
  ELSE coalesce(date_trunc('day', $3::timestamptz - interval '1 microsecond', 'UTC') + interval '1 day', '-infinity') END`;
const DAY_HI = `CASE WHEN NOT ${DAYS_ANSWER} THEN 'infinity'::timestamptz
  ELSE coalesce(date_trunc('day', $4::timestamptz, 'UTC'), 'infinity') END`;
const TASK_PART = `t.created_at, t.model_id, t.provider_id, t.template_id, 1, (t.status = 'succeeded')::int,
  (t.status = 'failed')::int, t.attempts, (t.usage ->> 'input_tokens')::bigint, (t.usage ->> 'output_tokens')::bigint,
  (t.usage ->> 'cached_input_tokens')::bigint, t.cost_usd`;
const BUCKET_SUMS = `h.tasks, h.succeeded, h.failed, h.attempts, h.input_tokens, h.output_tokens, h.cached_input_tokens, h.cost_usd`;

/**
 * The rollup's statement over one pair of bucket tables (days and hours): by template, or by model and
 * provider only (`template` is then null in every bucket row; used when neither the grouping nor the split
 * is the template). Every task of the window is in exactly one part: a whole UTC day's bucket, a whole
 * hour's bucket, the partial first or last hour's tasks, or the tasks of the whole hours not counted yet
 * (unfinished: by status; ended and not yet consumed: runner.usage_pending). In a zone whose offset is not
 * whole hours, grouped by day, every task of the window instead.
 */
function usageText(days: string, hours: string, template: string): string {
  return `WITH parts AS (
       SELECT h.day AS at, h.model_id, h.provider_id, ${template}, ${BUCKET_SUMS}
       FROM ${days} h
       WHERE h.day >= ${DAY_LO} AND h.day < ${DAY_HI} AND h.tasks <> 0 AND ${BUCKETS_ANSWER}
       UNION ALL
       SELECT h.hour AS at, h.model_id, h.provider_id, ${template}, ${BUCKET_SUMS}
       FROM ${hours} h
       WHERE h.hour >= ${LO} AND h.hour < least(${DAY_LO}, ${HI}) AND h.tasks <> 0 AND ${BUCKETS_ANSWER}
       UNION ALL
       SELECT h.hour AS at, h.model_id, h.provider_id, ${template}, ${BUCKET_SUMS}
       FROM ${hours} h
       WHERE h.hour >= greatest(${DAY_HI}, ${DAY_LO}, ${LO}) AND h.hour < ${HI} AND h.tasks <> 0 AND ${BUCKETS_ANSWER}
       UNION ALL
       SELECT ${TASK_PART} FROM runner.tasks t
       WHERE t.created_at >= ${SINCE} AND t.created_at < least(${LO}, ${UNTIL}) AND ${BUCKETS_ANSWER}
       UNION ALL
       SELECT ${TASK_PART} FROM runner.tasks t
       WHERE t.created_at >= greatest(${HI}, ${LO}, ${SINCE}) AND t.created_at < ${UNTIL} AND ${BUCKETS_ANSWER}
       UNION ALL
       SELECT ${TASK_PART} FROM runner.tasks t
       WHERE t.status IN ('queued', 'running') AND t.created_at >= ${LO} AND t.created_at < ${HI} AND ${BUCKETS_ANSWER}
       UNION ALL
       SELECT ${TASK_PART} FROM runner.usage_pending p JOIN runner.tasks t ON t.id = p.task_id
       WHERE t.created_at >= ${LO} AND t.created_at < ${HI} AND ${BUCKETS_ANSWER}
       UNION ALL
       SELECT ${TASK_PART} FROM runner.tasks t
       WHERE t.created_at >= ${SINCE} AND t.created_at < ${UNTIL} AND NOT ${BUCKETS_ANSWER}
     ), t AS (
       SELECT ${lineKeys('p', 'p.at')},
         p.*
       FROM parts p
     )
     SELECT key, split, GROUPING(key) = 1 AS total, GROUPING(split) = 1 AS whole,
       coalesce(sum(tasks), 0)::int AS tasks,
       coalesce(sum(succeeded), 0)::int AS succeeded,
       coalesce(sum(failed), 0)::int AS failed,
       coalesce(sum(attempts), 0)::int AS attempts,
       coalesce(sum(input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(cached_input_tokens), 0)::bigint AS cached_input_tokens,
       coalesce(sum(cost_usd), 0)::text AS cost_usd
     FROM t
     GROUP BY GROUPING SETS ((key, split), (key), (split), ())
     ORDER BY GROUPING(key),
       CASE WHEN $1::text = 'day' THEN key END,
       sum(cost_usd) DESC, sum(tasks) DESC, key NULLS LAST, split NULLS LAST, GROUPING(split)`;
}

const USAGE_BY_TEMPLATE = usageText('runner.usage_days', 'runner.usage_hours', 'h.template_id');
const USAGE_BY_MODEL = usageText('runner.usage_model_days', 'runner.usage_model_hours', 'NULL::uuid AS template_id');

/**
 * The usage rollup (GET /api/v1/usage), the same lines as `usageFullScan` without reading a year of tasks:
 * the window's whole UTC days from day buckets, its other whole UTC hours from hour buckets (both fed by the
 * runner.usage consumer group: docs/adr/0020-usage-rollup.md), the tasks of its partial first and last hour,
 * and the tasks of its whole hours not counted yet. The buckets without the template (a busy hour has one
 * row per model instead of one per model and template) answer whenever the template is neither the grouping
 * nor the split. Grouped by day, day buckets stand for a zone's days only where its offset is zero (UTC),
 * and hours make a zone's day only where its offset is whole hours; in any other zone (Asia/Kolkata) the
 * tasks of the whole window are read instead of the buckets.
 */
export function usage(db: Queryable, options: UsageOptions): Promise<UsageLine[]> {
  const byTemplate = options.groupBy === 'template' || options.splitBy === 'template';
  return many<UsageLine>(db, byTemplate ? USAGE_BY_TEMPLATE : USAGE_BY_MODEL, [
    options.groupBy,
    options.tz,
    options.from ?? null,
    options.to ?? null,
    options.splitBy,
  ]);
}

/**
 * A usage line's `key` (by `$1`: the day in zone `$2` of the time `at`, or the model, provider or template)
 * and its `split` (by `$5`), for a row `r` of either rollup read: the same lines from buckets or from tasks.
 */
function lineKeys(r: string, at: string): string {
  return `CASE $1::text
           WHEN 'day' THEN to_char(date_trunc('day', ${at} AT TIME ZONE $2::text), 'YYYY-MM-DD')
           WHEN 'model' THEN ${r}.model_id::text
           WHEN 'provider' THEN ${r}.provider_id::text
           ELSE ${r}.template_id::text
         END AS key,
         CASE $5::text
           WHEN 'model' THEN ${r}.model_id::text
           WHEN 'provider' THEN ${r}.provider_id::text
           WHEN 'template' THEN ${r}.template_id::text
         END AS split`;
}

/**
 * The rollup read from every task of the window: the answer `usage` gives from the buckets, and what it
 * falls back on for a day in a zone whose offset is not whole hours. Tasks rolled up by day (in `tz`), model, provider or template, with the line over all of them, and with
 * `splitBy` each of those lines again by model, provider or template. A task's cost already includes every
 * attempt's, and its `attempts` column counts its attempt rows (the claim numbers each attempt by it), so
 * the rollup reads runner.tasks alone; a task counts under the model and provider it ran on last. Days come in order; models, providers
 * and templates costliest first (then by tasks, then key); split lines costliest first. Without `splitBy`
 * the split is one null key, so its lines repeat the whole ones and are left out by the caller.
 */
export function usageFullScan(db: Queryable, options: UsageOptions): Promise<UsageLine[]> {
  return many<UsageLine>(
    db,
    `WITH t AS (
       SELECT ${lineKeys('t', 't.created_at')},
         t.status, t.cost_usd, t.usage, t.attempts
       FROM runner.tasks t
       WHERE ($3::timestamptz IS NULL OR t.created_at >= $3) AND ($4::timestamptz IS NULL OR t.created_at < $4)
     )
     SELECT key, split, GROUPING(key) = 1 AS total, GROUPING(split) = 1 AS whole,
       count(*)::int AS tasks,
       (count(*) FILTER (WHERE status = 'succeeded'))::int AS succeeded,
       (count(*) FILTER (WHERE status = 'failed'))::int AS failed,
       coalesce(sum(attempts), 0)::int AS attempts,
       coalesce(sum((usage ->> 'input_tokens')::bigint), 0)::bigint AS input_tokens,
       coalesce(sum((usage ->> 'output_tokens')::bigint), 0)::bigint AS output_tokens,
       coalesce(sum((usage ->> 'cached_input_tokens')::bigint), 0)::bigint AS cached_input_tokens,
       coalesce(sum(cost_usd), 0)::text AS cost_usd
     FROM t
     GROUP BY GROUPING SETS ((key, split), (key), (split), ())
     ORDER BY GROUPING(key),
       CASE WHEN $1::text = 'day' THEN key END,
       sum(cost_usd) DESC, count(*) DESC, key NULLS LAST, split NULLS LAST, GROUPING(split)`,
    [options.groupBy, options.tz, options.from ?? null, options.to ?? null, options.splitBy],
  );
}

/** Names of the runner's copies of models (display name) or providers, by id. */
export async function names(db: Queryable, kind: 'model' | 'provider', ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await many<{ id: string; name: string }>(
    db,
    kind === 'model'
      ? 'SELECT id, display_name AS name FROM runner.models WHERE id = ANY($1::uuid[])'
      : 'SELECT id, name FROM runner.providers WHERE id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row.name]));
}
