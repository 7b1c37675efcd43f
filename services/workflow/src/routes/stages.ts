import { isPgError, PgCode, withTransaction } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, NotFound } from '@llmops/kit/problem';
import * as contract from '@llmops/kit/contracts/workflow';
import * as stages from '../db/stages.ts';
import type { StageRow, SubstageRow } from '../db/stages.ts';
import { stageJson, substageJson } from '../json.ts';
import { flag, invalid, moved, type RouteDeps } from './common.ts';

function keyTaken(error: unknown): never {
  if (isPgError(error, PgCode.uniqueViolation))
    throw new Conflict('A substage with this key already exists (retired ones keep their key); choose another key.');
  throw error;
}

/** Stages and their substages: everyone reads them; admins add, rename, move and retire substages. */
export function mountStages(app: ServiceApp, { pool }: RouteDeps): void {
  app.openapi(contract.listStages, async (c) => {
    const includeRetired = flag(c.req.valid('query').include_retired);
    const [stageRows, substageRows] = await Promise.all([
      stages.listStages(pool),
      stages.listSubstages(pool, { includeRetired }),
    ]);
    return c.json({ items: stageRows.map((stage) => stageJson(stage, substageRows)) }, 200);
  });

  app.openapi(contract.updateStage, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const all = await stages.lockStages(tx);
      const before = all.find((stage) => stage.id === id);
      if (!before) throw new NotFound('No such stage.');
      await stages.renameStage(tx, id, input.label);
      const ids = all.map((stage) => stage.id);
      await stages.renumberStages(tx, moved(ids, id, input.position ?? ids.indexOf(id) + 1));
      const after = stageJson(
        (await stages.getStage(tx, id)) as StageRow,
        await stages.listSubstages(tx, { includeRetired: false }),
      );
      await c.var.audit(tx, 'stage.updated', { type: 'workflow_stage', id }, before, {
        label: after.label,
        position: after.position,
      });
      return after;
    });
    return c.json(json, 200);
  });

  app.openapi(contract.createSubstage, async (c) => {
    const input = c.req.valid('json');
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'substage.create', input, async () => {
        const stage = await stages.getStage(tx, input.stage_id);
        if (!stage) throw invalid({ field: 'body.stage_id', message: 'no such stage' });
        const siblings = await stages.activeInStage(tx, stage.id);
        const id = uuidv7();
        await stages
          .insertSubstage(tx, {
            id,
            stage_id: stage.id,
            key: input.key,
            label: input.label,
            description: input.description ?? '',
            position: siblings.length + 1,
          })
          .catch(keyTaken);
        await stages.renumberSubstages(
          tx,
          moved(
            siblings.map((s) => s.id),
            id,
            input.position,
          ),
        );
        const json = substageJson((await stages.getSubstage(tx, id)) as SubstageRow);
        await c.var.audit(tx, 'substage.created', { type: 'workflow_substage', id }, null, json);
        return { status: 201, body: json };
      }),
    );
    c.header('ETag', etagOf(body.updated_at));
    return c.json(body, 201);
  });

  app.openapi(contract.updateSubstage, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const row = await stages.getSubstage(tx, id, { lock: true });
      if (!row) throw new NotFound('No such substage.');
      checkIfMatch(c, row.updated_at, 'The substage');
      await stages.updateSubstage(tx, id, input);
      // Positions count the substages still offered: a retired one leaves the order, one brought back joins it.
      const siblings = (await stages.activeInStage(tx, row.stage_id)).map((s) => s.id);
      const retired = input.retired ?? row.retired_at !== null;
      const order = retired
        ? siblings.filter((s) => s !== id)
        : moved(siblings, id, input.position ?? (siblings.includes(id) ? siblings.indexOf(id) + 1 : undefined));
      await stages.renumberSubstages(tx, order);
      const after = substageJson((await stages.getSubstage(tx, id)) as SubstageRow);
      await c.var.audit(tx, 'substage.updated', { type: 'workflow_substage', id }, substageJson(row), after);
      return after;
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });
}
