import { isPgError, PgCode, withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, NotFound, type FieldProblem } from '@llmops/kit/problem';
import * as contract from '@llmops/kit/contracts/workflow';
import * as fields from '../db/fields.ts';
import type { FieldRow } from '../db/fields.ts';
import * as stages from '../db/stages.ts';
import { schemaProblem } from '../fields/json-schema.ts';
import { fieldJson } from '../json.ts';
import { flag, invalid, moved, type RouteDeps } from './common.ts';

function keyTaken(error: unknown): never {
  if (isPgError(error, PgCode.uniqueViolation))
    throw new Conflict('A field with this key already exists (retired ones keep their key); choose another key.');
  throw error;
}

/** Every problem with a field definition's substage and schema, at once. */
async function definitionProblems(
  db: Queryable,
  input: { kind: FieldRow['kind']; substage_id?: string | undefined; json_schema?: Record<string, unknown> | null | undefined },
): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];
  if (input.substage_id !== undefined) {
    const substage = await stages.getSubstage(db, input.substage_id);
    if (!substage) problems.push({ field: 'body.substage_id', message: 'no such substage' });
    else if (substage.retired_at) problems.push({ field: 'body.substage_id', message: 'this substage is retired' });
  }
  if (input.json_schema != null) {
    if (input.kind !== 'json') problems.push({ field: 'body.json_schema', message: 'only json fields take a JSON Schema' });
    else {
      const problem = schemaProblem(input.json_schema);
      if (problem) problems.push({ field: 'body.json_schema', message: problem });
    }
  }
  return problems;
}

/** Field definitions: everyone reads them; admins define, rename, move and retire them. */
export function mountFields(app: ServiceApp, { pool }: RouteDeps): void {
  app.openapi(contract.listFields, async (c) => {
    const query = c.req.valid('query');
    const rows = await fields.list(pool, { substageId: query.substage_id, includeRetired: flag(query.include_retired) });
    return c.json({ items: rows.map(fieldJson) }, 200);
  });

  app.openapi(contract.createField, async (c) => {
    const input = c.req.valid('json');
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'field.create', input, async () => {
        const problems = await definitionProblems(tx, input);
        if (problems.length > 0) throw invalid(...problems);
        const siblings = await fields.activeInSubstage(tx, input.substage_id);
        const id = uuidv7();
        await fields
          .insert(tx, {
            id,
            key: input.key,
            label: input.label,
            description: input.description ?? '',
            kind: input.kind,
            json_schema: input.json_schema ?? null,
            scope: input.scope ?? 'post',
            substage_id: input.substage_id,
            position: siblings.length + 1,
            required: input.required ?? false,
          })
          .catch(keyTaken);
        await fields.renumber(
          tx,
          moved(
            siblings.map((f) => f.id),
            id,
            input.position,
          ),
        );
        const json = fieldJson((await fields.get(tx, id)) as FieldRow);
        await c.var.audit(tx, 'field.created', { type: 'workflow_field', id }, null, json);
        return { status: 201, body: json };
      }),
    );
    c.header('ETag', etagOf(body.updated_at));
    return c.json(body, 201);
  });

  app.openapi(contract.updateField, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const row = await fields.get(tx, id, { lock: true });
      if (!row) throw new NotFound('No such field.');
      checkIfMatch(c, row.updated_at, 'The field');
      const problems = await definitionProblems(tx, { ...input, kind: row.kind });
      if (problems.length > 0) throw invalid(...problems);
      await fields.update(tx, id, input);
      const substageId = input.substage_id ?? row.substage_id;
      if (substageId !== row.substage_id)
        await fields.renumber(
          tx,
          (await fields.activeInSubstage(tx, row.substage_id)).map((f) => f.id).filter((f) => f !== id),
        );
      const siblings = (await fields.activeInSubstage(tx, substageId)).map((f) => f.id);
      const retired = input.retired ?? row.retired_at !== null;
      const order = retired
        ? siblings.filter((f) => f !== id)
        : moved(
            siblings,
            id,
            input.position ?? (substageId === row.substage_id && siblings.includes(id) ? siblings.indexOf(id) + 1 : undefined),
          );
      await fields.renumber(tx, order);
      const after = fieldJson((await fields.get(tx, id)) as FieldRow);
      await c.var.audit(tx, 'field.updated', { type: 'workflow_field', id }, fieldJson(row), after);
      return after;
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });
}
