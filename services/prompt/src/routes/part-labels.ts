import { withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { Conflict, NotFound } from '@llmops/kit/problem';
import * as contract from '@llmops/kit/contracts/prompt';
import * as parts from '../db/parts.ts';
import type { PartLabelRow } from '../db/parts.ts';
import * as templates from '../db/templates.ts';
import { actorOf, authorOf } from '../actor.ts';
import { fieldProblem, iso, type RouteDeps } from './common.ts';

type Follower = { template_id: string; name: string; message_index: number; entry_index: number };

/** Template drafts whose entries follow a part's label, by label name. */
async function followersByLabel(db: Queryable, partId: string): Promise<Map<string, Follower[]>> {
  const out = new Map<string, Follower[]>();
  for (const e of await templates.draftEntriesUsing(db, partId)) {
    if (e.part_version !== null || e.part_label === null) continue;
    const list = out.get(e.part_label) ?? [];
    list.push({ template_id: e.template_id, name: e.name, message_index: e.message_index, entry_index: e.entry_index });
    out.set(e.part_label, list);
  }
  return out;
}

function partLabelJson(row: PartLabelRow, followers: Follower[]) {
  return {
    name: row.name,
    version: row.version,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    updated_by: row.updated_by,
    followers,
  };
}

/**
 * Part labels: named pointers to part versions that template entries may follow (`latest` is built in
 * and never stored). Every change is a recorded move and an audit record, in the change's transaction.
 */
export function mountPartLabels(app: ServiceApp, deps: RouteDeps): void {
  const { pool } = deps;

  async function livePart(db: Queryable, id: string, lock = false) {
    const row = await parts.find(db, id, { lock });
    if (!row) throw new NotFound(`No prompt part ${id}.`);
    return row;
  }

  app.openapi(contract.listPartLabels, async (c) => {
    const part = await livePart(pool, c.req.valid('param').id);
    const followers = await followersByLabel(pool, part.id);
    const moves = await parts.labelMoves(pool, part.id);
    return c.json(
      {
        items: (await parts.labels(pool, part.id)).map((row) => partLabelJson(row, followers.get(row.name) ?? [])),
        moves: moves.map((move) => ({
          label: move.label,
          from_version: move.from_version,
          to_version: move.to_version,
          actor: { kind: move.actor_kind, id: move.actor_id },
          at: iso(move.at),
        })),
      },
      200,
    );
  });

  app.openapi(contract.setPartLabel, async (c) => {
    const identity = c.get('identity');
    const { id, label } = c.req.valid('param');
    const { version } = c.req.valid('json');
    const result = await withTransaction(pool, async (tx) => {
      // The part row serialises every label change of the part.
      const part = await livePart(tx, id, true);
      if (!(await parts.version(tx, id, version))) {
        throw fieldProblem(
          'body.version',
          `part "${part.name}" has no version ${version} (latest: ${part.latest_version ?? 'never published'})`,
        );
      }
      const current = await parts.label(tx, id, label, { lock: true });
      const followers = (await followersByLabel(tx, id)).get(label) ?? [];
      const from = current?.version ?? null;
      if (current && from === version) {
        return { applied: false, label: partLabelJson(current, followers), from_version: from, to_version: version };
      }
      const row = await parts.upsertLabel(tx, id, label, version, authorOf(identity));
      const actor = actorOf(identity);
      await parts.recordLabelMove(tx, {
        id: uuidv7(),
        part_id: id,
        label,
        from_version: from,
        to_version: version,
        actor_kind: actor.kind,
        actor_id: actor.id,
        request_id: c.get('requestId') ?? null,
      });
      await c.var.audit(
        tx,
        'part_label.moved',
        { type: 'part_label', id: `${id}:${label}` },
        current ? { version: from } : null,
        {
          version,
        },
      );
      return { applied: true, label: partLabelJson(row, followers), from_version: from, to_version: version };
    });
    return c.json(result, 200);
  });

  app.openapi(contract.deletePartLabel, async (c) => {
    const identity = c.get('identity');
    const { id, label } = c.req.valid('param');
    await withTransaction(pool, async (tx) => {
      const part = await livePart(tx, id, true);
      const current = await parts.label(tx, id, label, { lock: true });
      if (!current) throw new NotFound(`Part "${part.name}" has no label "${label}".`);
      const followers = (await followersByLabel(tx, id)).get(label) ?? [];
      if (followers.length > 0) {
        const names = [...new Set(followers.map((f) => `"${f.name}"`))].join(', ');
        throw new Conflict(
          `Label "${label}" of part "${part.name}" is followed by template drafts ${names}; pin them or make them follow another label first.`,
        );
      }
      await parts.deleteLabel(tx, id, label);
      const actor = actorOf(identity);
      await parts.recordLabelMove(tx, {
        id: uuidv7(),
        part_id: id,
        label,
        from_version: current.version,
        to_version: null,
        actor_kind: actor.kind,
        actor_id: actor.id,
        request_id: c.get('requestId') ?? null,
      });
      await c.var.audit(
        tx,
        'part_label.deleted',
        { type: 'part_label', id: `${id}:${label}` },
        { version: current.version },
        null,
      );
    });
    return c.body(null, 204);
  });
}
