import { publish } from '@llmops/kit/bus/index';
import { withTransaction } from '@llmops/kit/db';
import { taskRequested } from '@llmops/kit/events/runner';
import { suggestionDecided } from '@llmops/kit/events/workflow';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { Conflict, NotFound } from '@llmops/kit/problem';
import * as contract from '@llmops/kit/contracts/workflow';
import { readInputs, takesFormat, taskRequest } from '../actions/request.ts';
import { takesJson } from '../clients/registry-models.ts';
import * as actions from '../db/actions.ts';
import type { ActionRow } from '../db/actions.ts';
import * as fields from '../db/fields.ts';
import type { FieldRow } from '../db/fields.ts';
import * as runs from '../db/runs.ts';
import type { RunRow } from '../db/runs.ts';
import * as sections from '../db/sections.ts';
import * as suggestions from '../db/suggestions.ts';
import type { SuggestionRow } from '../db/suggestions.ts';
import * as values from '../db/values.ts';
import { valueProblems } from '../fields/values.ts';
import { runJson, suggestionJson } from '../json.ts';
import { writeValue } from '../revisions/write.ts';
import { actionOr404 } from './actions.ts';
import { invalid, type RouteDeps } from './common.ts';
import { postOr404 } from './posts.ts';

/** Running actions, a post's LLM history, and deciding suggestions. */
export function mountRuns(app: ServiceApp, { pool, registry }: RouteDeps): void {
  app.openapi(contract.runAction, async (c) => {
    const { id: postId, action_id: actionId } = c.req.valid('param');
    const identity = c.get('identity');
    // This run only: input values typed by the editor, another model or preset.
    const overrides = c.req.valid('json') ?? {};
    const adjusted = (row: ActionRow): ActionRow => ({
      ...row,
      model_id: overrides.model_id ?? row.model_id,
      preset_id: overrides.preset_id ?? row.preset_id,
    });
    // Structured output where the model takes it, asked of the registry before the transaction and only for
    // a target that asks for it (a list or JSON field); a target changed meanwhile to one asks for it anyway.
    const [named, kind] = await Promise.all([actionOr404(pool, actionId), actions.targetKind(pool, actionId, postId)]);
    const structured =
      kind !== undefined && !takesFormat(kind)
        ? true
        : (await takesJson(registry, adjusted(named), c.get('requestId'))) !== false;
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, `action.run:${postId}:${actionId}`, overrides, async () => {
        const post = await postOr404(tx, postId, { lock: true });
        const action = adjusted(await actionOr404(tx, actionId));
        if (action.retired_at) throw new Conflict('This action is retired; bring it back before running it.');
        const choice = await actions.choice(tx, postId, actionId);
        if (choice?.hidden)
          throw new Conflict('This action is hidden on this post; show it again (its choice) before running it.');
        const target = (await fields.get(tx, choice?.target_field_id ?? action.target_field_id)) as FieldRow;
        if (target.retired_at) throw new Conflict(`The target field ${target.key} is retired.`);
        const mapping = choice?.inputs ?? action.inputs;
        // A section field is filled once per section: one task each, each its own suggestion.
        const targets = target.scope === 'section' ? (await sections.ofPost(tx, postId)).map((s) => s.id) : [null];
        if (targets.length === 0)
          throw new Conflict(`${target.key} is a section field and this post has no sections yet: add one first.`);
        const made: RunRow[] = [];
        for (const sectionId of targets) {
          const read = await readInputs(tx, mapping, post, sectionId);
          if (read.problems.length > 0) throw invalid(...read.problems);
          const inputs = { ...read.inputs };
          for (const [name, value] of Object.entries(overrides.inputs ?? {})) inputs[name] = { value, revision_id: null };
          const base = await values.current(tx, { postId, sectionId, fieldId: target.id });
          const id = uuidv7();
          const request = taskRequest(action, target, { id, postId, sectionId, inputs }, { structured });
          const run = await runs.insert(tx, {
            id,
            action_id: action.id,
            post_id: postId,
            section_id: sectionId,
            target_field_id: target.id,
            target_base_revision_id: base?.id ?? null,
            mode: action.mode,
            inputs,
            request,
            requested_by: `${identity.kind}:${identity.subject}`,
          });
          // The run's id is the request's idempotency key: a redelivered request is the same task.
          await publish(tx, taskRequested, { requester: 'workflow', idempotency_key: id, request });
          made.push(run);
        }
        await c.var.audit(tx, 'action.run', { type: 'workflow_action', id: actionId }, null, {
          post_id: postId,
          action_run_ids: made.map((r) => r.id),
        });
        return { status: 202, body: { runs: made.map((r) => runJson(r, undefined)) } };
      }),
    );
    return c.json(body, 202);
  });

  app.openapi(contract.listPostRuns, async (c) => {
    const post = await postOr404(pool, c.req.valid('param').id);
    const rows = await runs.ofPost(pool, post.id);
    const bySuggestion = new Map(
      (
        await suggestions.ofRuns(
          pool,
          rows.map((r) => r.id),
        )
      ).map((s) => [s.action_run_id, s]),
    );
    return c.json({ items: rows.map((row) => runJson(row, bySuggestion.get(row.id))) }, 200);
  });

  app.openapi(contract.acceptSuggestion, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const identity = c.get('identity');
    const json = await withTransaction(pool, async (tx) => {
      const suggestion = await suggestions.get(tx, id, { lock: true });
      if (!suggestion) throw new NotFound('No such suggestion.');
      if (suggestion.status !== 'open' && suggestion.status !== 'conflict')
        throw new Conflict(`This suggestion is ${suggestion.status}; only open or conflicting ones can be accepted.`);
      const field = (await fields.get(tx, suggestion.field_id)) as FieldRow;
      if (suggestion.section_id) {
        const section = await sections.get(tx, suggestion.post_id, suggestion.section_id);
        if (!section || section.removed_at) throw new Conflict('The section of this suggestion was removed.');
      }
      const value = input.value === undefined ? suggestion.value : input.value;
      const problems = valueProblems(field, value ?? null);
      if (problems.length > 0) throw invalid(...problems);
      // Accepting is an edit by the account that names the source task: a stale base is a 409 like any edit.
      const now = await writeValue(tx, {
        postId: suggestion.post_id,
        sectionId: suggestion.section_id,
        field,
        value: value ?? null,
        base: input.base_revision_id,
        author: { kind: identity.kind, id: identity.subject },
        sourceTaskId: suggestion.task_id,
      });
      await suggestions.decide(tx, id, { status: 'accepted', by: `${identity.kind}:${identity.subject}`, revisionId: now.id });
      await suggestions.supersedeOthers(tx, {
        id,
        postId: suggestion.post_id,
        sectionId: suggestion.section_id,
        fieldId: field.id,
      });
      await publish(tx, suggestionDecided, {
        post_id: suggestion.post_id,
        suggestion_id: id,
        status: 'accepted',
        revision_id: now.id,
        at: new Date().toISOString(),
      });
      const after = suggestionJson((await suggestions.get(tx, id)) as SuggestionRow);
      await c.var.audit(tx, 'suggestion.accepted', { type: 'workflow_suggestion', id }, suggestionJson(suggestion), after);
      return after;
    });
    return c.json(json, 200);
  });

  app.openapi(contract.rejectSuggestion, async (c) => {
    const { id } = c.req.valid('param');
    const identity = c.get('identity');
    const json = await withTransaction(pool, async (tx) => {
      const suggestion = await suggestions.get(tx, id, { lock: true });
      if (!suggestion) throw new NotFound('No such suggestion.');
      if (suggestion.status !== 'open' && suggestion.status !== 'conflict')
        throw new Conflict(`This suggestion is ${suggestion.status}; only open or conflicting ones can be rejected.`);
      await suggestions.decide(tx, id, { status: 'rejected', by: `${identity.kind}:${identity.subject}`, revisionId: null });
      await publish(tx, suggestionDecided, {
        post_id: suggestion.post_id,
        suggestion_id: id,
        status: 'rejected',
        revision_id: null,
        at: new Date().toISOString(),
      });
      const after = suggestionJson((await suggestions.get(tx, id)) as SuggestionRow);
      await c.var.audit(tx, 'suggestion.rejected', { type: 'workflow_suggestion', id }, suggestionJson(suggestion), after);
      return after;
    });
    return c.json(json, 200);
  });
}
