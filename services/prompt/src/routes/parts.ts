import { withTransaction, isPgError, PgCode } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, NotFound } from '@llmops/kit/problem';
import { decodeCursor, encodeCursor } from '@llmops/kit/contracts/common';
import { publish } from '@llmops/kit/bus/index';
import { partPublished } from '@llmops/kit/events/prompt';
import * as contract from '@llmops/kit/contracts/prompt';
import { z } from 'zod';
import * as parts from '../db/parts.ts';
import type { PartRow, PartVersionRow } from '../db/parts.ts';
import { actorOf, authorOf } from '../actor.ts';
import { summarize, variableUses, type DiscoveredVariable } from '../render/analyze.ts';
import { lineDiff } from '../versions/line-diff.ts';
import { partImpact } from '../versions/impact.ts';
import { fieldProblem, iso, isoOrNull, setEtag, type RouteDeps } from './common.ts';

/** Parses a part's content: a syntax error is a 422 on `content` with line and column. */
export function discover(deps: RouteDeps, content: string, source: string, field = 'body.content'): DiscoveredVariable[] {
  const parsed = deps.renderer.parser.parse(content);
  if (!parsed.ok) {
    const { line, column, message } = parsed.problem;
    throw fieldProblem(field, `syntax error at line ${line}, column ${column}: ${message}`);
  }
  const uses = variableUses(deps.renderer.parser.engine, parsed.templates);
  return summarize(uses.map((use) => ({ use, source })));
}

export function partJson(deps: RouteDeps, row: PartRow) {
  const parsed = deps.renderer.parser.parse(row.content);
  const variables = parsed.ok
    ? summarize(variableUses(deps.renderer.parser.engine, parsed.templates).map((use) => ({ use, source: 'draft' })))
    : [];
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    description: row.description,
    tags: row.tags,
    default_role: row.default_role,
    content: row.content,
    variables,
    latest_version: row.latest_version,
    has_unpublished_changes: row.has_unpublished_changes,
    created_by: row.created_by,
    updated_by: row.updated_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    deleted_at: isoOrNull(row.deleted_at),
  };
}

function summaryJson(row: PartRow & { rank: number | null }) {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    description: row.description,
    tags: row.tags,
    default_role: row.default_role,
    latest_version: row.latest_version,
    has_unpublished_changes: row.has_unpublished_changes,
    created_by: row.created_by,
    updated_by: row.updated_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    deleted_at: isoOrNull(row.deleted_at),
    rank: row.rank,
  };
}

export function versionJson(row: PartVersionRow) {
  return {
    part_id: row.part_id,
    version: row.version,
    kind: row.kind,
    name: row.name,
    description: row.description,
    tags: row.tags,
    default_role: row.default_role,
    content: row.content,
    variables: row.variables as DiscoveredVariable[],
    message: row.message,
    author: row.author,
    created_at: iso(row.created_at),
  };
}

/** What an audit record keeps of a part: everything but the (possibly long) content, and its size. */
function auditView(row: PartRow) {
  return {
    kind: row.kind,
    name: row.name,
    description: row.description,
    tags: row.tags,
    default_role: row.default_role,
    content_chars: row.content.length,
    latest_version: row.latest_version,
  };
}

function nameTaken(error: unknown, name: string): never {
  if (isPgError(error, PgCode.uniqueViolation)) throw new Conflict(`A part named "${name}" already exists; pick another name.`);
  throw error;
}

const PartCursor = z.object({ id: z.uuid(), rank: z.number().nullable() });
const VersionCursor = z.object({ version: z.number().int().positive() });

export function mountParts(app: ServiceApp, deps: RouteDeps): void {
  const { pool } = deps;

  async function mustFind(id: string) {
    const row = await parts.find(pool, id);
    if (!row) throw new NotFound(`No prompt part ${id}.`);
    return row;
  }

  async function kindOrProblem(name: string) {
    const kind = await parts.kind(pool, name);
    if (!kind) {
      const known = (await parts.kinds(pool)).map((k) => k.name).join(', ');
      throw fieldProblem('body.kind', `unknown part kind "${name}"; the kinds are: ${known}`);
    }
    return kind;
  }

  app.openapi(contract.listPartKinds, async (c) => {
    return c.json({ items: await parts.kinds(pool) }, 200);
  });

  app.openapi(contract.listParts, async (c) => {
    const query = c.req.valid('query');
    const after = decodeCursor(query.cursor, PartCursor);
    const rows = await parts.list(pool, { kind: query.kind, tag: query.tag, q: query.q, limit: query.limit, after });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map(summaryJson),
        next_cursor: rows.length > query.limit && last ? encodeCursor({ id: last.id, rank: last.rank }) : null,
      },
      200,
    );
  });

  app.openapi(contract.createPart, async (c) => {
    const identity = c.get('identity');
    const input = c.req.valid('json');
    const kind = await kindOrProblem(input.kind);
    discover(deps, input.content, 'draft');
    const outcome = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'part.create', input, async () => {
        const row = await parts
          .insert(tx, uuidv7(), { ...input, default_role: input.default_role ?? kind.default_role }, authorOf(identity))
          .catch((error: unknown) => nameTaken(error, input.name));
        await c.var.audit(tx, 'part.created', { type: 'part', id: row.id }, null, auditView(row));
        return { status: 201, body: partJson(deps, row) };
      }),
    );
    setEtag(c, etagOf(outcome.body.updated_at));
    return c.json(outcome.body, 201);
  });

  app.openapi(contract.getPart, async (c) => {
    const row = await mustFind(c.req.valid('param').id);
    setEtag(c, etagOf(row.updated_at));
    return c.json(partJson(deps, row), 200);
  });

  app.openapi(contract.updatePart, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    const changes = c.req.valid('json');
    if (changes.kind !== undefined) await kindOrProblem(changes.kind);
    if (changes.content !== undefined) discover(deps, changes.content, 'draft');
    const row = await withTransaction(pool, async (tx) => {
      const before = await parts.find(tx, id, { lock: true });
      if (!before) throw new NotFound(`No prompt part ${id}.`);
      checkIfMatch(c, before.updated_at, `Part "${before.name}"`);
      const after = await parts
        .update(tx, id, { ...before, ...changes }, authorOf(identity))
        .catch((error: unknown) => nameTaken(error, changes.name ?? before.name));
      await c.var.audit(tx, 'part.updated', { type: 'part', id }, auditView(before), auditView(after));
      return after;
    });
    setEtag(c, etagOf(row.updated_at));
    return c.json(partJson(deps, row), 200);
  });

  app.openapi(contract.deletePart, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    await withTransaction(pool, async (tx) => {
      const before = await parts.find(tx, id, { lock: true });
      if (!before) throw new NotFound(`No prompt part ${id}.`);
      checkIfMatch(c, before.updated_at, `Part "${before.name}"`);
      await parts.softDelete(tx, id, authorOf(identity));
      await c.var.audit(tx, 'part.deleted', { type: 'part', id }, auditView(before), null);
    });
    return c.body(null, 204);
  });

  app.openapi(contract.publishPart, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    const { message } = c.req.valid('json');
    const outcome = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, `part.publish:${id}`, { message }, async () => {
        const part = await parts.find(tx, id, { lock: true });
        if (!part) throw new NotFound(`No prompt part ${id}.`);
        checkIfMatch(c, part.updated_at, `Part "${part.name}"`);
        if (!part.has_unpublished_changes) {
          throw new Conflict(`Part "${part.name}" has no changes since version ${part.latest_version}; edit it first.`);
        }
        const next = (part.latest_version ?? 0) + 1;
        const variables = discover(deps, part.content, `part "${part.name}" v${next}`);
        const version = await parts.insertVersion(tx, part, next, variables, message, authorOf(identity));
        await parts.setLatest(tx, id, next);
        await c.var.audit(
          tx,
          'part.published',
          { type: 'part', id },
          { latest_version: part.latest_version },
          {
            latest_version: next,
            message,
          },
        );
        await publish(tx, partPublished, {
          part_id: id,
          version: next,
          name: part.name,
          kind: part.kind,
          actor: actorOf(identity),
          at: iso(version.created_at),
        });
        return { status: 201, body: versionJson(version) };
      }),
    );
    return c.json(outcome.body, 201);
  });

  app.openapi(contract.listPartVersions, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    await mustFindAny(id);
    const after = decodeCursor(query.cursor, VersionCursor);
    const rows = await parts.versions(pool, id, query.limit, after?.version);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((row) => {
          const { content: _content, variables: _variables, ...rest } = versionJson(row);
          return rest;
        }),
        next_cursor: rows.length > query.limit && last ? encodeCursor({ version: last.version }) : null,
      },
      200,
    );
  });

  async function mustFindAny(id: string) {
    const row = await parts.find(pool, id, { withDeleted: true });
    if (!row) throw new NotFound(`No prompt part ${id}.`);
    return row;
  }

  async function mustFindVersion(id: string, n: number) {
    const row = await parts.version(pool, id, n);
    if (!row) {
      const part = await mustFindAny(id);
      throw new NotFound(
        `Part "${part.name}" has no version ${n}${part.latest_version ? ` (latest is ${part.latest_version})` : ' (it was never published)'}.`,
      );
    }
    return row;
  }

  app.openapi(contract.getPartVersion, async (c) => {
    const { id, version } = c.req.valid('param');
    return c.json(versionJson(await mustFindVersion(id, version)), 200);
  });

  app.openapi(contract.diffPart, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    const part = await mustFindAny(id);
    const to = query.to ?? 'draft';
    const from = query.from ?? (to === 'draft' ? part.latest_version : to - 1);
    if (from === null || from === 0) throw new NotFound(`Part "${part.name}" has no earlier version to compare with.`);
    const side = async (which: number | 'draft') => (which === 'draft' ? part : await mustFindVersion(id, which));
    const [a, b] = await Promise.all([side(from), side(to)]);
    const fields = (['kind', 'name', 'description', 'tags', 'default_role'] as const)
      .filter((field) => JSON.stringify(a[field]) !== JSON.stringify(b[field]))
      .map((field) => ({ field, from: a[field], to: b[field] }));
    const content = lineDiff(a.content, b.content);
    return c.json({ from, to, changed: fields.length > 0 || content.some((line) => line.op !== 'equal'), fields, content }, 200);
  });

  app.openapi(contract.partImpact, async (c) => {
    const part = await mustFind(c.req.valid('param').id);
    return c.json(await partImpact(pool, deps, part), 200);
  });
}
