import { afterAll, describe, expect, it, vi } from 'vitest';
import { createPool } from '@llmops/kit/db';
import { taskStarted } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { attemptRequest, normalizedRequest } from '../tasks/request.ts';
import type { ChainModel, TaskSnapshot } from '../tasks/task.ts';
import { claim, claimFree } from './claim.ts';

/*
 * The claim of tasks whose provider has no limit is one statement (claimFree): it starts them, opens
 * their attempts with the request the adapter will be given and inserts runner.task.started, as the
 * locked transaction does for limited providers. No runner runs here: the test claims its own tasks.
 */

const db = await useTestDatabase();
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'test', max: 2 });
const pool = createPool({ connectionString: db.urlFor('runner'), applicationName: 'claim test', max: 2 });
afterAll(async () => {
  await admin.end();
  await pool.end();
});

const OPTIONS = { owner: 'claim-test', limit: 10, leaseMs: 60_000, rateWindowMs: 60_000, defaultMaxOutputTokens: 1_000 };

async function provider(limits: { max_concurrency?: number } = {}): Promise<string> {
  const id = uuidv7();
  await admin.query(
    `INSERT INTO runner.providers (id, name, kind, timeout_ms, max_concurrency, enabled, updated_at)
     VALUES ($1, $2, 'openai', 60000, $3, true, now())`,
    [id, `claim test ${id}`, limits.max_concurrency ?? null],
  );
  return id;
}

function model(providerId: string, extra: Partial<ChainModel> = {}): ChainModel {
  return {
    model_id: uuidv7(),
    provider_id: providerId,
    provider_kind: 'openai',
    provider_model_id: 'emu-gpt-small',
    display_name: 'Emu',
    modality: 'chat',
    ...extra,
  };
}

async function queued(kind: 'chat' | 'image', chain: ChainModel[], snapshot: Partial<TaskSnapshot> = {}): Promise<string> {
  const id = uuidv7();
  const full: TaskSnapshot = {
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Say "hi"\nplease' },
      { role: 'assistant', content: 'Hi' },
      { role: 'user', content: 'Again' },
    ],
    parameters: { temperature: 0.2 },
    chain,
    retry_policy: { max_attempts: 2, initial_backoff_ms: 100, max_backoff_ms: 1000, backoff_multiplier: 2 },
    timeouts: { first_byte_ms: null, idle_ms: null },
    image: null,
    estimated_input_tokens: 10,
    rendered: false,
    ...snapshot,
  };
  const first = chain[0] as ChainModel;
  await admin.query(
    `INSERT INTO runner.tasks (id, requester, source, status, kind, correlation, snapshot, model_id, provider_id)
     VALUES ($1, 'account:claim-test', 'api', 'queued', $2, '{"post": 1}', $3, $4, $5)`,
    [id, kind, JSON.stringify(full), first.model_id, first.provider_id],
  );
  return id;
}

describe('the claim of tasks whose provider has no limit, in one statement', () => {
  it('starts them with the attempt request the adapter is given and runner.task.started, as the transaction does', async () => {
    const free = await provider();
    const ids = [
      await queued('chat', [model(free)]),
      await queued('chat', [model(free, { reasoning: true, max_output_tokens: 4096 }), model(free)]),
      await queued('image', [model(free, { modality: 'image', provider_model_id: 'emu-image' })], {
        image: { n: 2, size: '512x512' },
      }),
      await queued('image', [model(free, { modality: 'image', provider_model_id: 'emu-image' })]),
    ];
    const result = await claimFree(pool, OPTIONS);
    expect(result.claimed.map((c) => c.row.id).sort()).toEqual([...ids].sort());
    expect(result.limited).toBe(false);
    for (const { row, model: chainModel, attempt } of result.claimed) {
      expect(row.status).toBe('running');
      expect(row.lease_owner).toBe(OPTIONS.owner);
      expect(attempt.number).toBe(1);
      const { rows } = await admin.query(
        'SELECT request, status, worker, number, model_id, provider_model_id FROM runner.attempts WHERE id = $1',
        [attempt.id],
      );
      expect(rows[0]).toEqual({
        request: normalizedRequest(attemptRequest(row, chainModel)),
        status: 'running',
        worker: OPTIONS.owner,
        number: 1,
        model_id: chainModel.model_id,
        provider_model_id: chainModel.provider_model_id,
      });
      const { rows: events } = await admin.query(
        `SELECT key, payload FROM bus.outbox WHERE topic = $1 AND payload ->> 'task_id' = $2`,
        [taskStarted.topic, row.id],
      );
      expect(events).toHaveLength(1);
      const payload = taskStarted.payload.parse(events[0].payload);
      expect(events[0].key).toBe(row.id);
      expect(payload).toMatchObject({
        task_id: row.id,
        requester: 'account:claim-test',
        correlation: { post: 1 },
        attempt: 1,
        worker: OPTIONS.owner,
        queue_wait_ms: attempt.queue_wait_ms,
      });
    }
    // Nothing is left: the next claim says so, and that nothing is due later.
    expect(await claimFree(pool, OPTIONS)).toMatchObject({ claimed: [], held: false, nextDueMs: null });
  });

  it('leaves the tasks of a limited provider to the locked transaction, which claim goes on to', async () => {
    const limited = await provider({ max_concurrency: 1 });
    const ids = [await queued('chat', [model(limited)]), await queued('chat', [model(limited)])];
    const free = await claimFree(pool, OPTIONS);
    expect(free).toMatchObject({ claimed: [], limited: true });
    const result = await claim(pool, OPTIONS);
    // One slot: the other task is held back by the provider's max_concurrency.
    expect(result.claimed.map((c) => c.row.id)).toEqual([ids[0]]);
    expect(result.held).toBe(true);
  });
});

describe('the plan of the claim', () => {
  it('walks the queued tasks in order along their index, whatever runner.providers’ statistics say', async () => {
    // A backlog, analyzed as autovacuum would have by then, and a providers table no one has analyzed
    // (autovacuum waits for 50 changes there): the planner once read and sorted every task on each claim.
    const free = await provider();
    const seed = await queued('chat', [model(free)]);
    await admin.query(
      `INSERT INTO runner.tasks (id, requester, source, status, kind, correlation, snapshot, model_id, provider_id)
       SELECT gen_random_uuid(), t.requester, t.source, 'queued', t.kind, t.correlation, t.snapshot, t.model_id, t.provider_id
       FROM runner.tasks t, generate_series(1, 3000) WHERE t.id = $1`,
      [seed],
    );
    await admin.query('ANALYZE runner.tasks');
    const statements: Array<{ name?: string; text: string; values?: unknown[] }> = [];
    const query = pool.query.bind(pool);
    const spy = vi.spyOn(pool, 'query').mockImplementation(((config: { name?: string; text: string; values?: unknown[] }) => {
      statements.push(config);
      return query(config);
    }) as typeof pool.query);
    try {
      expect((await claimFree(pool, OPTIONS)).claimed).toHaveLength(OPTIONS.limit);
    } finally {
      spy.mockRestore();
    }
    const statement = statements.find((s) => s.name === 'runner.claim.free');
    expect(statement).toBeDefined();
    const { rows } = await admin.query<{ 'QUERY PLAN': unknown }>({
      text: `EXPLAIN (FORMAT JSON) ${statement?.text}`,
      values: statement?.values,
    });
    // How the tasks to lock are found: the scans of runner.tasks under the LockRows of FOR UPDATE SKIP LOCKED.
    const scans: string[] = [];
    const walk = (node: Record<string, unknown>, locking: boolean) => {
      if (locking && node['Relation Name'] === 'tasks') scans.push(`${node['Node Type']} ${node['Index Name'] ?? ''}`.trim());
      for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? [])
        walk(child, locking || node['Node Type'] === 'LockRows');
    };
    walk((rows[0]?.['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]?.Plan ?? {}, false);
    expect(scans).toEqual(['Index Scan tasks_queued_idx']);
  });
});
