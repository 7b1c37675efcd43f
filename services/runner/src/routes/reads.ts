import { z } from 'zod';
import { isPgError, type Pool } from '@llmops/kit/db';
import type { ServiceApp } from '@llmops/kit/http/app';
import { BadRequest, NotFound } from '@llmops/kit/problem';
import { decodeCursor, encodeCursor } from '@llmops/kit/contracts/common';
import * as contract from '@llmops/kit/contracts/runner';
import { TERMINAL_STATUSES, type TaskStatus } from '@llmops/kit/contracts/runner';
import * as reads from '../db/reads.ts';
import { groupJson, serverTiming, taskDetailJson, taskJson, usageRowJson, usageSplitJson } from './json.ts';

export interface TaskReadDeps {
  pool: Pool;
}

const Id = z.uuid();

/** `time zone "…" not recognized`: a name Intl knows and PostgreSQL does not. */
const INVALID_PARAMETER_VALUE = '22023';

/** `?correlation=` is a JSON object; anything else is a 400 naming the parameter. */
function parseCorrelation(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const message = 'expected a JSON object, e.g. {"post_id":"…"}';
    throw new BadRequest(`query.correlation: ${message}`, [{ field: 'query.correlation', message }]);
  }
  return value as Record<string, unknown>;
}

const terminal = (status: TaskStatus): boolean => TERMINAL_STATUSES.includes(status);

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * A synchronous read: polls the task's status (one indexed row) until it ends, `seconds` pass or the
 * client goes away. Polling keeps this independent of the bus; it starts fast (most tasks that a
 * client waits for end within seconds) and backs off to a few reads a second.
 */
async function waitUntilEnded(pool: Pool, id: string, seconds: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  let delay = 50;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || signal.aborted) return;
    await pause(Math.min(delay, left), signal);
    if (signal.aborted) return;
    const status = await reads.status(pool, id);
    if (status === undefined || terminal(status)) return;
    delay = Math.min(Math.round(delay * 1.5), 250);
  }
}

/** The read side of the runner's public API (contracts/runner.ts); every route is for viewers and up. */
export function mountTaskReads(app: ServiceApp, { pool }: TaskReadDeps): void {
  app.openapi(contract.listTasks, async (c) => {
    const query = c.req.valid('query');
    const includeOutput = query.include_output !== 'false';
    const rows = await reads.list(pool, {
      before: decodeCursor(query.cursor, Id),
      statuses: query.status?.split(',') as TaskStatus[] | undefined,
      templateId: query.template_id,
      templateLabel: query.label,
      modelId: query.model_id,
      providerId: query.provider_id,
      presetId: query.preset_id,
      groupId: query.group_id,
      retryOf: query.retry_of,
      correlation: parseCorrelation(query.correlation),
      createdAfter: query.created_after,
      createdBefore: query.created_before,
      text: query.q,
      includeOutput,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    return c.json(
      {
        items: page.map((row) => taskJson(row, { output: includeOutput })),
        next_cursor: more ? encodeCursor(page.at(-1)?.id) : null,
      },
      200,
    );
  });

  app.openapi(contract.getTask, async (c) => {
    const { id } = c.req.valid('param');
    const { wait = 0 } = c.req.valid('query');
    let row = await reads.get(pool, id);
    if (!row) throw new NotFound('No such task.');
    if (wait > 0 && !terminal(row.status)) {
      await waitUntilEnded(pool, id, wait, c.req.raw.signal);
      row = (await reads.get(pool, id)) ?? row;
    }
    const [attempts, images, retries] = await Promise.all([
      reads.attempts(pool, id),
      reads.images(pool, id),
      reads.retries(pool, id),
    ]);
    c.header('Server-Timing', serverTiming(row));
    return c.json(taskDetailJson(row, { attempts, images, retries }), 200);
  });

  app.openapi(contract.getTaskGroup, async (c) => {
    const { id } = c.req.valid('param');
    const group = await reads.group(pool, id);
    if (!group) throw new NotFound('No such task group.');
    return c.json(groupJson(group, await reads.groupTasks(pool, id)), 200);
  });

  app.openapi(contract.getUsage, async (c) => {
    const query = c.req.valid('query');
    const splitBy = query.split_by ?? null;
    if (splitBy === query.group_by) {
      const message = `split by another dimension than group_by (${query.group_by}), or leave split_by out`;
      throw new BadRequest(`query.split_by: ${message}`, [{ field: 'query.split_by', message }]);
    }
    let lines: reads.UsageLine[];
    try {
      lines = await reads.usage(pool, { groupBy: query.group_by, splitBy, tz: query.tz, from: query.from, to: query.to });
    } catch (error) {
      if (!isPgError(error, INVALID_PARAMETER_VALUE)) throw error;
      const message = 'this time zone is not known to the database; use an IANA name such as Europe/Berlin';
      throw new BadRequest(`query.tz: ${message}`, [{ field: 'query.tz', message }]);
    }
    const wholes = lines.filter((line) => line.whole);
    const parts = splitBy ? lines.filter((line) => !line.whole) : [];
    const labelsOf = async (dimension: reads.UsageGrouping | null, keys: (string | null)[]) =>
      dimension === 'model' || dimension === 'provider'
        ? reads.names(
            pool,
            dimension,
            keys.filter((key): key is string => key !== null),
          )
        : new Map<string, string>();
    const [labels, splitLabels] = await Promise.all([
      labelsOf(
        query.group_by,
        wholes.flatMap((line) => (line.total ? [] : [line.key])),
      ),
      labelsOf(
        splitBy,
        parts.map((line) => line.split),
      ),
    ]);
    // A group's split lines, in the rollup's order (costliest first), by the group's key ('' for the total).
    const splits = new Map<string, ReturnType<typeof usageSplitJson>[]>();
    for (const line of parts) {
      const group = line.total ? '' : `k:${line.key ?? ''}`;
      const list = splits.get(group) ?? [];
      list.push(usageSplitJson(line, (line.split && splitLabels.get(line.split)) ?? null));
      splits.set(group, list);
    }
    const withSplit = (group: string) => (splitBy ? { split: splits.get(group) ?? [] } : {});
    const rows = wholes
      .filter((line) => !line.total)
      .map((line) => ({
        ...usageRowJson(line, (line.key && labels.get(line.key)) ?? null),
        ...withSplit(`k:${line.key ?? ''}`),
      }));
    // The empty grouping set makes the total line even when no task matches.
    const total = wholes.find((line) => line.total);
    if (!total) throw new Error('the usage rollup returned no total line');
    return c.json(
      {
        group_by: query.group_by,
        split_by: splitBy,
        tz: query.tz,
        from: query.from === undefined ? null : new Date(query.from).toISOString(),
        to: query.to === undefined ? null : new Date(query.to).toISOString(),
        rows,
        total: { ...usageRowJson(total, null), ...withSplit('') },
      },
      200,
    );
  });

  app.openapi(contract.getTaskImage, async (c) => {
    const { id, index } = c.req.valid('param');
    const image = await reads.image(pool, id, index);
    if (!image) throw new NotFound('No such image: the task has no image at this index.');
    return c.body(new Uint8Array(image.data), 200, {
      'Content-Type': image.content_type,
      'Content-Length': String(image.data.length),
      // An image never changes once stored (task id + index name it for good).
      'Cache-Control': 'private, max-age=31536000, immutable',
    }) as never;
  });
}
