import { many, maybeOne, one, type Queryable } from '@llmops/kit/db';
import type { VariableDecl } from '../render/inputs.ts';
import type { Role } from './parts.ts';

export interface TemplateRow {
  id: string;
  name: string;
  description: string;
  merge_adjacent: boolean;
  default_model_id: string | null;
  default_preset_id: string | null;
  variables: VariableDecl[];
  latest_version: number | null;
  created_by: string;
  updated_by: string;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/**
 * A draft entry: a part (pinned to `version`; or, when null, following the part label `label`, or the
 * latest published version when that is null too) or inline text.
 */
export interface DraftEntry {
  id: string;
  type: 'part' | 'text';
  part_id: string | null;
  version: number | null;
  label: string | null;
  text: string | null;
}

export interface DraftMessage {
  id: string;
  role: Role;
  entries: DraftEntry[];
}

/** An entry as frozen in a version: the part version it used, and whether it followed the latest. */
export interface FrozenEntry {
  id: string;
  type: 'part' | 'text';
  part_id: string | null;
  part_name: string | null;
  version: number | null;
  /** `latest`, or the part label the entry followed; null when it pinned a version (or is text). */
  follows: string | null;
  text: string | null;
}

export interface FrozenMessage {
  id: string;
  role: Role;
  entries: FrozenEntry[];
}

export interface TemplateVersionRow {
  template_id: string;
  version: number;
  name: string;
  description: string;
  merge_adjacent: boolean;
  default_model_id: string | null;
  default_preset_id: string | null;
  variables: VariableDecl[];
  messages: FrozenMessage[];
  message: string;
  author: string;
  created_at: Date;
  labels: string[];
}

export interface LabelRow {
  template_id: string;
  name: string;
  version: number;
  protected: boolean;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
}

const TEMPLATE = `id, name, description, merge_adjacent, default_model_id, default_preset_id, variables, latest_version,
  created_by, updated_by, created_at, updated_at, deleted_at`;

/** The live template read of every render (a named statement: planned once per connection, not per call). */
const FIND_LIVE = {
  name: 'prompt.templates.find',
  text: `SELECT ${TEMPLATE} FROM prompt.templates WHERE id = $1 AND deleted_at IS NULL`,
};

export async function find(db: Queryable, id: string, { lock = false, withDeleted = false } = {}) {
  if (!lock && !withDeleted) return (await db.query<TemplateRow>({ ...FIND_LIVE, values: [id] })).rows[0];
  return maybeOne<TemplateRow>(
    db,
    `SELECT ${TEMPLATE} FROM prompt.templates WHERE id = $1 ${withDeleted ? '' : 'AND deleted_at IS NULL'} ${lock ? 'FOR UPDATE' : ''}`,
    [id],
  );
}

export interface TemplateSettings {
  name: string;
  description: string;
  merge_adjacent: boolean;
  default_model_id: string | null;
  default_preset_id: string | null;
  variables: VariableDecl[];
}

export function insert(db: Queryable, id: string, settings: TemplateSettings, author: string) {
  return one<TemplateRow>(
    db,
    `INSERT INTO prompt.templates (id, name, description, merge_adjacent, default_model_id, default_preset_id, variables, created_by, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${TEMPLATE}`,
    [
      id,
      settings.name,
      settings.description,
      settings.merge_adjacent,
      settings.default_model_id,
      settings.default_preset_id,
      JSON.stringify(settings.variables),
      author,
    ],
  );
}

export function update(db: Queryable, id: string, settings: TemplateSettings, author: string) {
  return one<TemplateRow>(
    db,
    `UPDATE prompt.templates SET name = $2, description = $3, merge_adjacent = $4, default_model_id = $5,
       default_preset_id = $6, variables = $7, updated_by = $8, updated_at = prompt.next_updated_at(updated_at)
     WHERE id = $1 RETURNING ${TEMPLATE}`,
    [
      id,
      settings.name,
      settings.description,
      settings.merge_adjacent,
      settings.default_model_id,
      settings.default_preset_id,
      JSON.stringify(settings.variables),
      author,
    ],
  );
}

export async function softDelete(db: Queryable, id: string, author: string): Promise<void> {
  await db.query(
    `UPDATE prompt.templates SET deleted_at = clock_timestamp(), updated_by = $2, updated_at = prompt.next_updated_at(updated_at)
     WHERE id = $1`,
    [id, author],
  );
}

export function list(db: Queryable, q: string | undefined, limit: number, after: string | undefined) {
  return many<TemplateRow & { message_count: number }>(
    db,
    `SELECT ${TEMPLATE.split(', ')
      .map((c) => `t.${c.trim()}`)
      .join(', ')},
       (SELECT count(*)::int FROM prompt.template_messages m WHERE m.template_id = t.id) AS message_count
     FROM prompt.templates t
     WHERE t.deleted_at IS NULL AND ($1::text IS NULL OR t.name ILIKE '%' || $1 || '%')
       AND ($2::uuid IS NULL OR t.id < $2)
     ORDER BY t.id DESC LIMIT $3`,
    [q?.replace(/[\\%_]/g, (ch) => `\\${ch}`) ?? null, after ?? null, limit + 1],
  );
}

/** The draft's messages and entries, in order. */
export async function messages(db: Queryable, templateId: string): Promise<DraftMessage[]> {
  const rows = await many<{
    message_id: string;
    role: Role;
    entry_id: string | null;
    part_id: string | null;
    part_version: number | null;
    part_label: string | null;
    text: string | null;
  }>(
    db,
    `SELECT m.id AS message_id, m.role, e.id AS entry_id, e.part_id, e.part_version, e.part_label, e.text
     FROM prompt.template_messages m LEFT JOIN prompt.template_entries e ON e.message_id = m.id
     WHERE m.template_id = $1 ORDER BY m.position, e.position`,
    [templateId],
  );
  const out: DraftMessage[] = [];
  for (const row of rows) {
    let message = out.at(-1);
    if (message?.id !== row.message_id) {
      message = { id: row.message_id, role: row.role, entries: [] };
      out.push(message);
    }
    if (row.entry_id) {
      message.entries.push({
        id: row.entry_id,
        type: row.part_id ? 'part' : 'text',
        part_id: row.part_id,
        version: row.part_version,
        label: row.part_label,
        text: row.text,
      });
    }
  }
  return out;
}

/** Replaces the draft's messages (ids kept), in one round trip per table. */
export async function replaceMessages(db: Queryable, templateId: string, list: readonly DraftMessage[]): Promise<void> {
  await db.query(`DELETE FROM prompt.template_messages WHERE template_id = $1`, [templateId]);
  if (list.length === 0) return;
  await db.query(
    `INSERT INTO prompt.template_messages (id, template_id, position, role)
     SELECT id, $1, position - 1, role FROM unnest($2::uuid[], $3::text[]) WITH ORDINALITY AS m(id, role, position)`,
    [templateId, list.map((m) => m.id), list.map((m) => m.role)],
  );
  const entries = list.flatMap((message) =>
    message.entries.map((entry, position) => ({ ...entry, message: message.id, position })),
  );
  await db.query(
    `INSERT INTO prompt.template_entries (id, message_id, template_id, position, part_id, part_version, part_label, text)
     SELECT id, message_id, $3::uuid, position, part_id, part_version, part_label, text
     FROM unnest($1::uuid[], $2::uuid[], $4::int[], $5::uuid[], $6::int[], $7::text[], $8::text[])
       AS e(id, message_id, position, part_id, part_version, text, part_label)`,
    [
      entries.map((e) => e.id),
      entries.map((e) => e.message),
      templateId,
      entries.map((e) => e.position),
      entries.map((e) => e.part_id),
      entries.map((e) => e.version),
      entries.map((e) => e.text),
      entries.map((e) => (e.type === 'part' ? e.label : null)),
    ],
  );
}

export async function touch(db: Queryable, id: string, author: string): Promise<TemplateRow> {
  return one<TemplateRow>(
    db,
    `UPDATE prompt.templates SET updated_by = $2, updated_at = prompt.next_updated_at(updated_at) WHERE id = $1 RETURNING ${TEMPLATE}`,
    [id, author],
  );
}

const VERSION = `v.template_id, v.version, v.name, v.description, v.merge_adjacent, v.default_model_id, v.default_preset_id,
  v.variables, v.messages, v.message, v.author, v.created_at,
  coalesce((SELECT array_agg(l.name ORDER BY l.name) FROM prompt.template_labels l
            WHERE l.template_id = v.template_id AND l.version = v.version), '{}') AS labels`;

export async function insertVersion(
  db: Queryable,
  template: TemplateRow,
  version: number,
  frozen: FrozenMessage[],
  message: string,
  author: string,
): Promise<TemplateVersionRow> {
  await db.query(
    `INSERT INTO prompt.template_versions (template_id, version, name, description, merge_adjacent, default_model_id,
       default_preset_id, variables, messages, message, author)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      template.id,
      version,
      template.name,
      template.description,
      template.merge_adjacent,
      template.default_model_id,
      template.default_preset_id,
      JSON.stringify(template.variables),
      JSON.stringify(frozen),
      message,
      author,
    ],
  );
  const pairs = new Map<string, { part_id: string; version: number }>();
  for (const entry of frozen.flatMap((m) => m.entries)) {
    if (entry.part_id && entry.version)
      pairs.set(`${entry.part_id}@${entry.version}`, { part_id: entry.part_id, version: entry.version });
  }
  await db.query(
    `INSERT INTO prompt.template_version_parts (template_id, version, part_id, part_version)
     SELECT $1, $2, * FROM unnest($3::uuid[], $4::int[])`,
    [template.id, version, [...pairs.values()].map((p) => p.part_id), [...pairs.values()].map((p) => p.version)],
  );
  await db.query(`UPDATE prompt.templates SET latest_version = $2 WHERE id = $1`, [template.id, version]);
  return (await findVersion(db, template.id, version)) as TemplateVersionRow;
}

export function findVersion(db: Queryable, id: string, version: number) {
  return maybeOne<TemplateVersionRow>(
    db,
    `SELECT ${VERSION} FROM prompt.template_versions v WHERE v.template_id = $1 AND v.version = $2`,
    [id, version],
  );
}

export function versions(db: Queryable, id: string, limit: number, before?: number) {
  return many<TemplateVersionRow>(
    db,
    `SELECT ${VERSION} FROM prompt.template_versions v WHERE v.template_id = $1 AND ($2::int IS NULL OR v.version < $2)
     ORDER BY v.version DESC LIMIT $3`,
    [id, before ?? null, limit + 1],
  );
}

const LABEL = `template_id, name, version, protected, created_at, updated_at, updated_by`;

export function labels(db: Queryable, templateIds: readonly string[]) {
  return many<LabelRow>(db, `SELECT ${LABEL} FROM prompt.template_labels WHERE template_id = ANY ($1::uuid[]) ORDER BY name`, [
    templateIds,
  ]);
}

export function label(db: Queryable, templateId: string, name: string, { lock = false } = {}) {
  return maybeOne<LabelRow>(
    db,
    `SELECT ${LABEL} FROM prompt.template_labels WHERE template_id = $1 AND name = $2 ${lock ? 'FOR UPDATE' : ''}`,
    [templateId, name],
  );
}

export function upsertLabel(
  db: Queryable,
  templateId: string,
  name: string,
  version: number,
  isProtected: boolean,
  author: string,
) {
  return one<LabelRow>(
    db,
    `INSERT INTO prompt.template_labels (template_id, name, version, protected, updated_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (template_id, name) DO UPDATE SET version = excluded.version, protected = excluded.protected,
       updated_by = excluded.updated_by, updated_at = prompt.next_updated_at(prompt.template_labels.updated_at)
     RETURNING ${LABEL}`,
    [templateId, name, version, isProtected, author],
  );
}

export async function deleteLabel(db: Queryable, templateId: string, name: string): Promise<void> {
  await db.query(`DELETE FROM prompt.template_labels WHERE template_id = $1 AND name = $2`, [templateId, name]);
}

export interface MoveInput {
  id: string;
  template_id: string;
  label: string;
  from_version: number | null;
  to_version: number | null;
  protected: boolean;
  actor_kind: 'account' | 'service';
  actor_id: string;
  request_id: string | null;
}

export function recordMove(db: Queryable, move: MoveInput) {
  return one<{ at: Date }>(
    db,
    `INSERT INTO prompt.label_moves (id, template_id, label, from_version, to_version, protected, actor_kind, actor_id, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING at`,
    [
      move.id,
      move.template_id,
      move.label,
      move.from_version,
      move.to_version,
      move.protected,
      move.actor_kind,
      move.actor_id,
      move.request_id,
    ],
  );
}

export function moves(db: Queryable, templateId: string, label: string, limit = 50) {
  return many<{
    from_version: number | null;
    to_version: number | null;
    protected: boolean;
    actor_kind: 'account' | 'service';
    actor_id: string;
    at: Date;
  }>(
    db,
    `SELECT from_version, to_version, protected, actor_kind, actor_id, at FROM prompt.label_moves
     WHERE template_id = $1 AND label = $2 ORDER BY id DESC LIMIT $3`,
    [templateId, label, limit],
  );
}

/** Draft entries that reference a part, with their template and place (for impact). */
export function draftEntriesUsing(db: Queryable, partId: string) {
  return many<{
    template_id: string;
    name: string;
    message_index: number;
    entry_index: number;
    part_version: number | null;
    part_label: string | null;
  }>(
    db,
    `SELECT t.id AS template_id, t.name, m.position AS message_index, e.position AS entry_index, e.part_version, e.part_label
     FROM prompt.template_entries e
     JOIN prompt.template_messages m ON m.id = e.message_id
     JOIN prompt.templates t ON t.id = e.template_id
     WHERE e.part_id = $1 AND t.deleted_at IS NULL
     ORDER BY t.name, m.position, e.position`,
    [partId],
  );
}

/** Published template versions that use a part (any version of it), with their labels. */
export function versionsUsing(db: Queryable, partId: string) {
  return many<{ template_id: string; name: string; version: number; part_version: number; labels: string[] }>(
    db,
    `SELECT vp.template_id, t.name, vp.version, vp.part_version,
       coalesce((SELECT array_agg(l.name ORDER BY l.name) FROM prompt.template_labels l
                 WHERE l.template_id = vp.template_id AND l.version = vp.version), '{}') AS labels
     FROM prompt.template_version_parts vp JOIN prompt.templates t ON t.id = vp.template_id
     WHERE vp.part_id = $1 AND t.deleted_at IS NULL
     ORDER BY t.name, vp.version DESC
     LIMIT 200`,
    [partId],
  );
}
