import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import type { Identity } from '@llmops/kit/http/identity';
import { checkIfMatch, etagOf, PreconditionFailed } from '@llmops/kit/http/preconditions';
import { Conflict, Forbidden, HttpProblem, NotFound } from '@llmops/kit/problem';
import { publish } from '@llmops/kit/bus/index';
import { labelMoved } from '@llmops/kit/events/prompt';
import * as contract from '@llmops/kit/contracts/prompt';
import * as templates from '../db/templates.ts';
import type { LabelRow, TemplateRow } from '../db/templates.ts';
import { actorOf, authorOf } from '../actor.ts';
import { sideOf, templateDiff } from '../versions/template-diff.ts';
import type { VariableDecl } from '../render/inputs.ts';
import { fieldProblem, iso, setEtag, type RouteDeps } from './common.ts';
import { labelJson } from './templates.ts';

/** Labels that are protected when first set, unless the admin who sets them says otherwise. */
export const PROTECTED_BY_DEFAULT = new Set(['production']);

class ConfirmationRequired extends HttpProblem {
  constructor(detail: string) {
    super(428, 'confirmation-required', 'Confirmation required', detail);
  }
}

function isAdmin(identity: Identity): boolean {
  return identity.kind === 'account' && identity.role === 'admin';
}

/**
 * The token a dry run hands out: it names exactly one move (template, label, from, to). It is an
 * acknowledgement that the caller saw that diff, not a secret; the admin role is the permission. If
 * the label moves in between, the token no longer matches and the move is refused with 409. A delete is
 * a move to nothing.
 */
export function confirmToken(templateId: string, label: string, from: number | null, to: number | null): string {
  return createHash('sha256')
    .update(`${templateId}\n${label}\n${from ?? 'none'}\n${to ?? 'none'}`)
    .digest('base64url')
    .slice(0, 32);
}

/**
 * A protected label changes only by an admin who saw the change first: a dry run hands out the token
 * of exactly that change, and the change is sent again with it (docs/prompts.md, Moving a label).
 */
function checkConfirmed(
  identity: Identity,
  label: string,
  change: 'set' | 'move' | 'delete',
  sent: string | undefined,
  token: string,
) {
  if (!isAdmin(identity)) throw new Forbidden(`Label "${label}" is protected: only an admin may ${change} it.`);
  if (sent === undefined) {
    const how =
      change === 'delete'
        ? 'send the delete with "?dry_run=true" first, check what it deletes, then send it again with "?confirm=<its token>"'
        : 'send it with "dry_run": true first, check its diff and impact, then send it again with its "confirm" token';
    throw new ConfirmationRequired(`Label "${label}" is protected: ${how}.`);
  }
  if (sent !== token) throw new Conflict(`Label "${label}" changed since that dry run; dry-run the ${change} again.`);
}

/** If-Match names the label's version (its ETag); a label that does not exist matches none (RFC 9110). */
function checkLabelIfMatch(c: Context, template: TemplateRow, label: string, current: LabelRow | undefined) {
  const what = `Label "${label}" of template "${template.name}"`;
  if (current) return checkIfMatch(c, current.updated_at, what);
  if (c.req.header('if-match') !== undefined) {
    throw new PreconditionFailed(`${what} does not exist (any more); read it again and apply your change to what is there.`);
  }
}

function requiredNames(declared: readonly VariableDecl[], discovered: readonly string[]): Set<string> {
  const byName = new Map(declared.map((v) => [v.name, v]));
  const required = new Set<string>();
  for (const v of declared) if (v.required && v.default === undefined) required.add(v.name);
  for (const name of discovered) if (!byName.has(name)) required.add(name);
  return required;
}

/** What callers of a label notice when it moves: variables, newly required inputs, part versions. */
async function labelImpact(db: Queryable, deps: RouteDeps, template: TemplateRow, from: number | null, to: number) {
  const b = await sideOf(db, template, to);
  const a = from === null ? undefined : await sideOf(db, template, from);
  const names = (side: typeof b | undefined) => {
    if (!side) return { all: new Set<string>(), required: new Set<string>() };
    const discovered = deps.renderer.analyze(side.resolved).variables.map((v) => v.name);
    const declared = side.settings.variables as VariableDecl[];
    return { all: new Set([...discovered, ...declared.map((v) => v.name)]), required: requiredNames(declared, discovered) };
  };
  const before = names(a);
  const after = names(b);
  const partsOf = (side: typeof b | undefined) => {
    const map = new Map<string, number>();
    for (const entry of side?.frozen.flatMap((m) => m.entries) ?? [])
      if (entry.part_id && entry.version) map.set(entry.part_id, entry.version);
    return map;
  };
  const pa = partsOf(a);
  const pb = partsOf(b);
  return {
    variables_added: [...after.all].filter((n) => !before.all.has(n)).sort(),
    variables_removed: [...before.all].filter((n) => !after.all.has(n)).sort(),
    newly_required: [...after.required].filter((n) => !before.required.has(n)).sort(),
    part_versions_changed: [...new Set([...pa.keys(), ...pb.keys()])]
      .filter((id) => pa.get(id) !== pb.get(id))
      .map((id) => ({ part_id: id, from_version: pa.get(id) ?? null, to_version: pb.get(id) ?? null })),
  };
}

export function mountLabels(app: ServiceApp, deps: RouteDeps): void {
  const { pool } = deps;

  async function liveTemplate(db: Queryable, id: string, lock = false) {
    const row = await templates.find(db, id, { lock });
    if (!row) throw new NotFound(`No template ${id}.`);
    return row;
  }

  app.openapi(contract.listLabels, async (c) => {
    const template = await liveTemplate(pool, c.req.valid('param').id);
    return c.json({ items: (await templates.labels(pool, [template.id])).map(labelJson) }, 200);
  });

  app.openapi(contract.getLabel, async (c) => {
    const { id, label } = c.req.valid('param');
    const template = await liveTemplate(pool, id);
    const row = await templates.label(pool, id, label);
    if (!row) throw new NotFound(`Template "${template.name}" has no label "${label}".`);
    const moves = await templates.moves(pool, id, label);
    setEtag(c, etagOf(row.updated_at));
    return c.json(
      {
        ...labelJson(row),
        moves: moves.map((move) => ({
          from_version: move.from_version,
          to_version: move.to_version,
          protected: move.protected,
          actor: { kind: move.actor_kind, id: move.actor_id },
          at: iso(move.at),
        })),
      },
      200,
    );
  });

  app.openapi(contract.setLabel, async (c) => {
    const identity = c.get('identity');
    const { id, label } = c.req.valid('param');
    const body = c.req.valid('json');
    const result = await withTransaction(pool, async (tx) => {
      // The template row serialises every label change of the template.
      const template = await liveTemplate(tx, id, true);
      if (!(await templates.findVersion(tx, id, body.version))) {
        throw fieldProblem(
          'body.version',
          `template "${template.name}" has no version ${body.version} (latest: ${template.latest_version ?? 'never published'})`,
        );
      }
      const current = await templates.label(tx, id, label, { lock: true });
      checkLabelIfMatch(c, template, label, current);
      const from = current?.version ?? null;
      const to = body.version;
      const wasProtected = current?.protected ?? PROTECTED_BY_DEFAULT.has(label);
      const willBeProtected = body.protected ?? wasProtected;
      const diff = await templateDiff(tx, template, from, to);
      const impact = await labelImpact(tx, deps, template, from, to);
      const token = confirmToken(id, label, from, to);
      const answer = (applied: boolean, row = current) => ({
        applied,
        label: row ? labelJson(row) : null,
        from_version: from,
        to_version: to,
        diff,
        impact,
        confirm: applied ? null : token,
      });
      if (body.dry_run) return answer(false);
      if (willBeProtected !== wasProtected && !isAdmin(identity)) {
        throw new Forbidden(`Only an admin may ${willBeProtected ? 'protect' : 'unprotect'} label "${label}".`);
      }
      // Protected: a label that is, or that this change protects (a new `production`, `"protected": true`).
      if (current?.protected || willBeProtected) {
        if (from === to) {
          if (!isAdmin(identity)) throw new Forbidden(`Label "${label}" is protected: only an admin may change it.`);
        } else checkConfirmed(identity, label, current ? 'move' : 'set', body.confirm, token);
      }
      if (current && from === to && willBeProtected === current.protected) return answer(false);
      const row = await templates.upsertLabel(tx, id, label, to, willBeProtected, authorOf(identity));
      const actor = actorOf(identity);
      if (from !== to) {
        const { at } = await templates.recordMove(tx, {
          id: uuidv7(),
          template_id: id,
          label,
          from_version: from,
          to_version: to,
          protected: willBeProtected,
          actor_kind: actor.kind,
          actor_id: actor.id,
          request_id: c.get('requestId') ?? null,
        });
        await publish(tx, labelMoved, {
          template_id: id,
          label,
          from_version: from,
          to_version: to,
          protected: willBeProtected,
          actor,
          at: iso(at),
        });
      }
      await c.var.audit(
        tx,
        from !== to ? 'label.moved' : 'label.updated',
        { type: 'template_label', id: `${id}:${label}` },
        current ? { version: from, protected: current.protected } : null,
        { version: to, protected: willBeProtected },
      );
      return { ...answer(true, row), label: labelJson(row) };
    });
    if (result.label) setEtag(c, etagOf(result.label.updated_at));
    return c.json(result, 200);
  });

  app.openapi(contract.deleteLabel, async (c) => {
    const identity = c.get('identity');
    const { id, label } = c.req.valid('param');
    const query = c.req.valid('query');
    const dryRun = await withTransaction(pool, async (tx) => {
      const template = await liveTemplate(tx, id, true);
      const current = await templates.label(tx, id, label, { lock: true });
      if (!current) throw new NotFound(`Template "${template.name}" has no label "${label}".`);
      checkLabelIfMatch(c, template, label, current);
      const token = confirmToken(id, label, current.version, null);
      if (query.dry_run === 'true') return { applied: false as const, label: labelJson(current), confirm: token };
      if (current.protected) checkConfirmed(identity, label, 'delete', query.confirm, token);
      await templates.deleteLabel(tx, id, label);
      const actor = actorOf(identity);
      const { at } = await templates.recordMove(tx, {
        id: uuidv7(),
        template_id: id,
        label,
        from_version: current.version,
        to_version: null,
        protected: current.protected,
        actor_kind: actor.kind,
        actor_id: actor.id,
        request_id: c.get('requestId') ?? null,
      });
      await publish(tx, labelMoved, {
        template_id: id,
        label,
        from_version: current.version,
        to_version: null,
        protected: current.protected,
        actor,
        at: iso(at),
      });
      await c.var.audit(
        tx,
        'label.deleted',
        { type: 'template_label', id: `${id}:${label}` },
        { version: current.version, protected: current.protected },
        null,
      );
      return undefined;
    });
    return dryRun ? c.json(dryRun, 200) : c.body(null, 204);
  });
}
