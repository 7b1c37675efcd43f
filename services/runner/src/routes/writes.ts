import type { Pool } from '@llmops/kit/db';
import { withTransaction } from '@llmops/kit/db';
import type { ServiceApp } from '@llmops/kit/http/app';
import * as contract from '@llmops/kit/contracts/runner';
import type { TaskService } from '../create/service.ts';
import { taskJson } from './json.ts';

export interface WriteDeps {
  pool: Pool;
  tasks: TaskService;
}

/** Creating, cancelling and retrying tasks (editors and up). */
export function mountTaskWrites(app: ServiceApp, { pool, tasks }: WriteDeps): void {
  app.openapi(contract.createTask, async (c) => {
    const identity = c.get('identity');
    const body = c.req.valid('json');
    const requestId = c.get('requestId');
    const requester = `${identity.kind}:${identity.subject}`;
    const spans = c.get('spans');
    spans.mark('handler');
    // Everything the task needs from other services is fetched and checked first; the create is then one statement.
    const prepared = await tasks.prepare(body, requestId, requester, spans);
    const outcome = await tasks.create(
      prepared,
      { requester, source: 'api', priority: body.priority, correlation: body.correlation ?? null, inputs: body.inputs },
      { key: c.req.header('idempotency-key'), operation: 'task.create', request: body },
      (rows) => ({ status: 201, body: { group_id: rows[0]?.group_id ?? null, tasks: rows.map((row) => taskJson(row)) } }),
      spans,
    );
    return c.json(outcome.body, outcome.replayed ? 200 : 201);
  });

  app.openapi(contract.cancelTask, async (c) => {
    const { row, running } = await tasks.cancel(c.req.valid('param').id, (tx, before, after) =>
      c.var.audit(
        tx,
        'task.cancelled',
        { type: 'task', id: after.id },
        { status: before.status },
        {
          status: after.status,
          cancel_requested_at: after.cancel_requested_at,
        },
      ),
    );
    return c.json(taskJson(row), running ? 202 : 200);
  });

  app.openapi(contract.retryTask, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    const options = c.req.valid('json');
    const requestId = c.get('requestId');
    const outcome = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, `task.retry:${id}`, options, async () => {
        const row = await tasks.retry(id, options, `${identity.kind}:${identity.subject}`, requestId, tx);
        await c.var.audit(tx, 'task.retried', { type: 'task', id: row.id }, null, {
          retry_of: id,
          model_id: row.model_id,
          preset_id: row.preset_id,
        });
        return { status: 201, body: taskJson(row) };
      }),
    );
    if (!outcome.replayed) tasks.wake();
    return c.json(outcome.body, outcome.replayed ? 200 : 201);
  });
}
