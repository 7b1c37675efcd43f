import type { z } from 'zod';
import { withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import { NotFound, type FieldProblem } from '@llmops/kit/problem';
import * as contract from '@llmops/kit/contracts/workflow';
import { modelProblems, type ModelChoice } from '../clients/registry-models.ts';
import { templateProblems, type TemplatePin } from '../clients/prompt-templates.ts';
import * as actions from '../db/actions.ts';
import type { ActionRow, ChoiceRow, InputMapping } from '../db/actions.ts';
import * as fields from '../db/fields.ts';
import * as posts from '../db/posts.ts';
import type { FieldRow } from '../db/fields.ts';
import * as stages from '../db/stages.ts';
import { actionJson } from '../json.ts';
import { flag, invalid, moved, type RouteDeps } from './common.ts';
import { postOr404 } from './posts.ts';

/** Every problem of an input mapping for a target field of `scope`, each naming its variable. */
export async function mappingProblems(
  db: Queryable,
  mapping: InputMapping,
  scope: 'post' | 'section',
  at: string,
): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];
  for (const [name, source] of Object.entries(mapping)) {
    if (source.from !== 'post_field' && source.from !== 'section_field') continue;
    const field = await fields.getByKey(db, source.field);
    const where = `${at}.${name}.field`;
    if (!field) problems.push({ field: where, message: `no field ${source.field}` });
    else if (source.from === 'post_field' && field.scope !== 'post')
      problems.push({ field: where, message: `${field.key} is a section field` });
    else if (source.from === 'section_field' && field.scope !== 'section')
      problems.push({ field: where, message: `${field.key} is a post field` });
    else if (source.from === 'section_field' && scope !== 'section')
      problems.push({ field: where, message: 'section fields are inputs only of actions that target a section field' });
  }
  return problems;
}

/** A target field by key: one that exists and is not retired. */
export async function targetProblems(
  db: Queryable,
  key: string,
  at: string,
): Promise<{ field?: FieldRow; problems: FieldProblem[] }> {
  const field = await fields.getByKey(db, key);
  if (!field) return { problems: [{ field: at, message: `no field ${key}` }] };
  if (field.retired_at) return { problems: [{ field: at, message: 'this field is retired' }] };
  return { field, problems: [] };
}

/**
 * What the other services say about an action as it would be saved (asked before the transaction, so no
 * row is locked across the calls): its template, pinned version or label and variables against the
 * mapping (the prompt service), and its model against the target's kind (the registry). Each problem
 * names the body field to fix.
 */
export async function remoteProblems(
  clients: { prompt: ServiceClient; registry: ServiceClient },
  action: TemplatePin & ModelChoice & { inputs: InputMapping; targetKind: string | undefined },
  requestId: string,
): Promise<FieldProblem[]> {
  const [template, model] = await Promise.all([
    templateProblems(clients.prompt, action, action.inputs, { at: 'body', requestId }),
    action.targetKind === undefined
      ? Promise.resolve([])
      : modelProblems(clients.registry, action, action.targetKind, { at: 'body', requestId }),
  ]);
  return [...template, ...model];
}

/** The action as a post sees it: its choice applied. */
export async function effective(
  db: Queryable,
  action: ActionRow,
  choice: ChoiceRow | undefined,
): Promise<z.output<typeof contract.PostActionSchema>> {
  let row = action;
  if (choice?.target_field_id) {
    const field = (await fields.get(db, choice.target_field_id)) as FieldRow;
    row = { ...row, target_field_id: field.id, target_field_key: field.key, target_field_scope: field.scope };
  }
  if (choice?.inputs) row = { ...row, inputs: choice.inputs };
  return { ...actionJson(row), hidden: choice?.hidden ?? false, overridden: Boolean(choice?.inputs || choice?.target_field_id) };
}

export async function actionOr404(db: Queryable, id: string): Promise<ActionRow> {
  const row = await actions.get(db, id);
  if (!row) throw new NotFound('No such action.');
  return row;
}

/** LLM actions and a post's choices for them. */
export function mountActions(app: ServiceApp, { pool, prompt, registry }: RouteDeps): void {
  app.openapi(contract.listActions, async (c) => {
    const query = c.req.valid('query');
    const rows = await actions.list(pool, { substageId: query.substage_id, includeRetired: flag(query.include_retired) });
    return c.json({ items: rows.map(actionJson) }, 200);
  });

  app.openapi(contract.createAction, async (c) => {
    const input = c.req.valid('json');
    const remote = await remoteProblems(
      { prompt, registry },
      {
        template_id: input.template_id,
        template_version: input.template_version ?? null,
        template_label: input.template_label ?? null,
        model_id: input.model_id ?? null,
        preset_id: input.preset_id ?? null,
        inputs: input.inputs,
        targetKind: (await fields.getByKey(pool, input.target_field))?.kind,
      },
      c.get('requestId'),
    );
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'action.create', input, async () => {
        const problems: FieldProblem[] = [...remote];
        const substage = await stages.getSubstage(tx, input.substage_id);
        if (!substage || substage.retired_at)
          problems.push({ field: 'body.substage_id', message: substage ? 'this substage is retired' : 'no such substage' });
        const target = await targetProblems(tx, input.target_field, 'body.target_field');
        problems.push(...target.problems);
        if (target.field) problems.push(...(await mappingProblems(tx, input.inputs, target.field.scope, 'body.inputs')));
        if (problems.length > 0 || !target.field) throw invalid(...problems);
        const siblings = await actions.activeInSubstage(tx, input.substage_id);
        const id = uuidv7();
        await actions.insert(tx, {
          id,
          substage_id: input.substage_id,
          label: input.label,
          position: siblings.length + 1,
          template_id: input.template_id,
          template_version: input.template_version ?? null,
          template_label: input.template_label ?? null,
          model_id: input.model_id ?? null,
          preset_id: input.preset_id ?? null,
          inputs: input.inputs,
          target_field_id: target.field.id,
          mode: input.mode,
        });
        await actions.renumber(
          tx,
          moved(
            siblings.map((a) => a.id),
            id,
            input.position,
          ),
        );
        const json = actionJson((await actions.get(tx, id)) as ActionRow);
        await c.var.audit(tx, 'action.created', { type: 'workflow_action', id }, null, json);
        return { status: 201, body: json };
      }),
    );
    return c.json(body, 201);
  });

  app.openapi(contract.getAction, async (c) => c.json(actionJson(await actionOr404(pool, c.req.valid('param').id)), 200));

  app.openapi(contract.updateAction, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    // A version pinned clears the label and a label followed clears the version (one pin at a time).
    const changes: actions.ActionChanges = {
      ...input,
      ...(typeof input.template_version === 'number' ? { template_label: null } : {}),
      ...(typeof input.template_label === 'string' ? { template_version: null } : {}),
    };
    const existing = await actionOr404(pool, id);
    const remoteChange = ['template_version', 'template_label', 'model_id', 'preset_id', 'inputs'].some(
      (key) => (changes as Record<string, unknown>)[key] !== undefined,
    );
    const remote = remoteChange
      ? await remoteProblems(
          { prompt, registry },
          {
            template_id: existing.template_id,
            template_version: changes.template_version === undefined ? existing.template_version : changes.template_version,
            template_label: changes.template_label === undefined ? existing.template_label : changes.template_label,
            model_id: changes.model_id === undefined ? existing.model_id : changes.model_id,
            preset_id: changes.preset_id === undefined ? existing.preset_id : changes.preset_id,
            inputs: changes.inputs ?? existing.inputs,
            targetKind: (await fields.get(pool, existing.target_field_id))?.kind,
          },
          c.get('requestId'),
        )
      : [];
    const json = await withTransaction(pool, async (tx) => {
      const row = await actionOr404(tx, id);
      const problems = [
        ...remote,
        ...(input.inputs ? await mappingProblems(tx, input.inputs, row.target_field_scope, 'body.inputs') : []),
      ];
      if (problems.length > 0) throw invalid(...problems);
      await actions.update(tx, id, changes);
      const siblings = (await actions.activeInSubstage(tx, row.substage_id)).map((a) => a.id);
      const retired = input.retired ?? row.retired_at !== null;
      await actions.renumber(
        tx,
        retired
          ? siblings.filter((a) => a !== id)
          : moved(siblings, id, input.position ?? (siblings.includes(id) ? siblings.indexOf(id) + 1 : undefined)),
      );
      const after = actionJson((await actions.get(tx, id)) as ActionRow);
      await c.var.audit(tx, 'action.updated', { type: 'workflow_action', id }, actionJson(row), after);
      return after;
    });
    return c.json(json, 200);
  });

  app.openapi(contract.listPostActions, async (c) => {
    const post = await postOr404(pool, c.req.valid('param').id);
    const [rows, choices] = await Promise.all([actions.list(pool, { includeRetired: false }), actions.choicesOf(pool, post.id)]);
    const byAction = new Map(choices.map((choice) => [choice.action_id, choice]));
    return c.json({ items: await Promise.all(rows.map((row) => effective(pool, row, byAction.get(row.id)))) }, 200);
  });

  app.openapi(contract.setPostActionChoice, async (c) => {
    const { id: postId, action_id: actionId } = c.req.valid('param');
    const input = c.req.valid('json');
    let remote: FieldProblem[] = [];
    if (input.inputs !== undefined || input.target_field !== undefined) {
      // The post's own mapping and target are held to the action's template and model like the action's.
      const action = await actionOr404(pool, actionId);
      const before = await actions.choice(pool, postId, actionId);
      const targetId = input.target_field === undefined ? (before?.target_field_id ?? action.target_field_id) : undefined;
      const target =
        typeof input.target_field === 'string'
          ? await fields.getByKey(pool, input.target_field)
          : await fields.get(pool, targetId ?? action.target_field_id);
      remote = await remoteProblems(
        { prompt, registry },
        {
          ...action,
          inputs: (input.inputs === undefined ? before?.inputs : input.inputs) ?? action.inputs,
          targetKind: target?.kind,
        },
        c.get('requestId'),
      );
    }
    const json = await withTransaction(pool, async (tx) => {
      await postOr404(tx, postId, { lock: true });
      const action = await actionOr404(tx, actionId);
      const before = await actions.choice(tx, postId, actionId);
      let targetFieldId = before?.target_field_id ?? null;
      let scope = action.target_field_scope;
      if (input.target_field !== undefined) {
        if (input.target_field === null) targetFieldId = null;
        else {
          const target = await targetProblems(tx, input.target_field, 'body.target_field');
          if (!target.field) throw invalid(...target.problems);
          targetFieldId = target.field.id;
        }
      }
      if (targetFieldId) scope = ((await fields.get(tx, targetFieldId)) as FieldRow).scope;
      const inputs = input.inputs === undefined ? (before?.inputs ?? null) : input.inputs;
      const problems = [...remote, ...(await mappingProblems(tx, inputs ?? action.inputs, scope, 'body.inputs'))];
      if (problems.length > 0) throw invalid(...problems);
      const choice: ChoiceRow = {
        post_id: postId,
        action_id: actionId,
        hidden: input.hidden ?? before?.hidden ?? false,
        inputs,
        target_field_id: targetFieldId,
      };
      await actions.setChoice(tx, choice);
      await c.var.audit(tx, 'action_choice.set', { type: 'post', id: postId }, before ?? null, choice);
      return effective(tx, action, choice);
    });
    return c.json(json, 200);
  });

  app.openapi(contract.copyPostActionChoices, async (c) => {
    const { id: from } = c.req.valid('param');
    const { to_post_id: to } = c.req.valid('json');
    const copied = await withTransaction(pool, async (tx) => {
      await postOr404(tx, from);
      const target = await posts.get(tx, to, { lock: true });
      if (!target) throw invalid({ field: 'body.to_post_id', message: 'no such post' });
      const n = await actions.copyChoices(tx, from, to);
      await c.var.audit(tx, 'action_choice.copied', { type: 'post', id: to }, null, { from_post_id: from, copied: n });
      return n;
    });
    return c.json({ copied }, 200);
  });
}
