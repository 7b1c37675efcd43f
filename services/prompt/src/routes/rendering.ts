import type { Queryable } from '@llmops/kit/db';
import type { ServiceApp } from '@llmops/kit/http/app';
import { ON_BEHALF_OF_HEADER } from '@llmops/kit/http/identity';
import { Forbidden, NotFound, Unprocessable } from '@llmops/kit/problem';
import * as contract from '@llmops/kit/contracts/prompt';
import { PROMPT_LIMITS } from '@llmops/kit/contracts/prompt';
import * as templates from '../db/templates.ts';
import type { TemplateRow, TemplateVersionRow } from '../db/templates.ts';
import type { VariableDecl } from '../render/inputs.ts';
import type { RenderOutcome } from '../render/render.ts';
import { callerOf, type RenderCall } from '../render/renders.ts';
import { resolveDraft, resolveFrozen } from '../versions/resolve.ts';
import { fieldProblem, type RouteDeps } from './common.ts';
import { messageFromInput } from './templates.ts';

interface Rendered {
  template_id: string | null;
  template_version: number | null;
  label: string | null;
  part_versions: { part_id: string; version: number | 'draft' }[];
  declared_variables: VariableDecl[];
  default_model_id: string | null;
  default_preset_id: string | null;
}

function resultJson(outcome: RenderOutcome, rendered: Rendered) {
  return {
    ok: outcome.ok,
    template_id: rendered.template_id,
    template_version: rendered.template_version,
    label: rendered.label,
    messages: outcome.messages,
    part_versions: rendered.part_versions,
    variables: outcome.variables,
    declared_variables: rendered.declared_variables,
    problems: outcome.problems,
    warnings: outcome.warnings,
    chars: outcome.chars,
    token_estimate: outcome.token_estimate,
    default_model_id: rendered.default_model_id,
    default_preset_id: rendered.default_preset_id,
  };
}

function checkInputSize(inputs: Record<string, unknown>): void {
  const bytes = Buffer.byteLength(JSON.stringify(inputs));
  if (bytes > PROMPT_LIMITS.inputBytes) {
    throw fieldProblem('body.inputs', `the inputs are ${bytes} bytes of JSON; at most ${PROMPT_LIMITS.inputBytes} are rendered`);
  }
}

/** What rendering a published version needs of it, with its part references resolved: immutable once published. */
interface FrozenVersion {
  row: Pick<TemplateVersionRow, 'version' | 'variables' | 'merge_adjacent' | 'default_model_id' | 'default_preset_id'>;
  messages: Awaited<ReturnType<typeof resolveFrozen>>['messages'];
  partVersions: Awaited<ReturnType<typeof resolveFrozen>>['partVersions'];
}

/** Versions kept per app (a version and the part versions it froze never change, so a kept one is never stale). */
const FROZEN_KEPT = 500;
const frozenByApp = new WeakMap<RouteDeps, Map<string, FrozenVersion>>();

/**
 * A published version with its parts resolved: read once (two statements), then kept, so rendering the
 * same version again (every task of a template) reads only the template's row. The template's own row
 * is always read, since it can be deleted and its latest version moves.
 */
async function frozenVersion(
  db: Queryable,
  deps: RouteDeps,
  templateId: string,
  version: number,
): Promise<FrozenVersion | undefined> {
  let kept = frozenByApp.get(deps);
  if (!kept) frozenByApp.set(deps, (kept = new Map()));
  const key = `${templateId}@${version}`;
  const found = kept.get(key);
  if (found) return found;
  const row = await templates.findVersion(db, templateId, version);
  if (!row) return undefined;
  const { messages, partVersions } = await resolveFrozen(db, row.messages);
  const frozen: FrozenVersion = {
    row: {
      version: row.version,
      variables: row.variables,
      merge_adjacent: row.merge_adjacent,
      default_model_id: row.default_model_id,
      default_preset_id: row.default_preset_id,
    },
    messages,
    partVersions,
  };
  if (kept.size >= FROZEN_KEPT) kept.delete(kept.keys().next().value as string);
  kept.set(key, frozen);
  return frozen;
}

/**
 * Renders a template's draft, a version or a label: what preview shows and what the runner sends. A
 * version renders from its frozen part versions only, so it renders the same text forever.
 */
export async function renderTemplate(
  db: Queryable,
  deps: RouteDeps,
  template: TemplateRow,
  source: { version?: number | undefined; label?: string | undefined; latest?: true | undefined },
  inputs: Record<string, unknown>,
  model: string | undefined,
  call: RenderCall,
) {
  checkInputSize(inputs);
  let version = source.version;
  if (source.latest === true) {
    if (template.latest_version === null)
      throw new Unprocessable(
        `template "${template.name}" has never been published; publish it first (tasks run published versions)`,
      );
    version = template.latest_version;
  }
  if (source.label !== undefined) {
    const label = await templates.label(db, template.id, source.label);
    if (!label) throw new NotFound(`Template "${template.name}" has no label "${source.label}".`);
    version = label.version;
  }
  if (version === undefined) {
    const resolution = await resolveDraft(db, await templates.messages(db, template.id));
    const outcome = await deps.renders.render(
      {
        messages: resolution.messages,
        declared: template.variables,
        mergeAdjacent: template.merge_adjacent,
        inputs,
        model,
        problems: resolution.problems,
      },
      call,
    );
    return resultJson(outcome, {
      template_id: template.id,
      template_version: null,
      label: null,
      part_versions: resolution.partVersions,
      declared_variables: template.variables,
      default_model_id: template.default_model_id,
      default_preset_id: template.default_preset_id,
    });
  }
  const frozen = await frozenVersion(db, deps, template.id, version);
  if (!frozen)
    throw new NotFound(
      `Template "${template.name}" has no version ${version} (latest: ${template.latest_version ?? 'never published'}).`,
    );
  const { row, messages, partVersions } = frozen;
  const outcome = await deps.renders.render(
    { messages, declared: row.variables, mergeAdjacent: row.merge_adjacent, inputs, model },
    call,
  );
  return resultJson(outcome, {
    template_id: template.id,
    template_version: row.version,
    label: source.label ?? null,
    part_versions: partVersions,
    declared_variables: row.variables,
    default_model_id: row.default_model_id,
    default_preset_id: row.default_preset_id,
  });
}

export function mountRendering(app: ServiceApp, deps: RouteDeps): void {
  const { pool } = deps;

  async function liveTemplate(id: string) {
    const row = await templates.find(pool, id);
    if (!row) throw new NotFound(`No template ${id}.`);
    return row;
  }

  app.openapi(contract.previewTemplate, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const template = await liveTemplate(id);
    const call = { caller: callerOf(identity, c.req.header(ON_BEHALF_OF_HEADER)), fieldPrefix: '' };
    return c.json(await renderTemplate(pool, deps, template, body, body.inputs, body.model, call), 200);
  });

  app.openapi(contract.assemble, async (c) => {
    const identity = c.get('identity');
    const body = c.req.valid('json');
    checkInputSize(body.inputs);
    const resolution = await resolveDraft(pool, body.messages.map(messageFromInput));
    const outcome = await deps.renders.render(
      {
        messages: resolution.messages,
        declared: body.variables,
        mergeAdjacent: body.merge_adjacent,
        inputs: body.inputs,
        model: body.model,
        problems: resolution.problems,
      },
      { caller: callerOf(identity, c.req.header(ON_BEHALF_OF_HEADER)), fieldPrefix: 'body.' },
    );
    return c.json(
      resultJson(outcome, {
        template_id: null,
        template_version: null,
        label: null,
        part_versions: resolution.partVersions,
        declared_variables: body.variables,
        default_model_id: null,
        default_preset_id: null,
      }),
      200,
    );
  });

  app.openapi(contract.internalRender, async (c) => {
    const identity = c.get('identity');
    // The runner renders tasks; the legacy importer checks that what it imported previews (docs/migration.md).
    if (identity.kind !== 'service' || (identity.subject !== 'runner' && identity.subject !== 'importer')) {
      throw new Forbidden('POST /internal/render answers only the runner service and the legacy importer.');
    }
    const body = c.req.valid('json');
    const spans = c.get('spans');
    spans.mark('handler');
    const template = await spans.time('template', () => liveTemplate(body.template_id));
    const call = { caller: callerOf(identity, c.req.header(ON_BEHALF_OF_HEADER)), fieldPrefix: '' };
    const answer = await spans.time('render', () => renderTemplate(pool, deps, template, body, body.inputs, body.model, call));
    return c.json(answer, 200);
  });
}
