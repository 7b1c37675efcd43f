import { z } from 'zod';
import { withTransaction, isPgError, PgCode, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { AppEnv, ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, fieldPath, Forbidden, NotFound, Unprocessable, type FieldProblem } from '@llmops/kit/problem';
import { decodeCursor, encodeCursor } from '@llmops/kit/contracts/common';
import { publish } from '@llmops/kit/bus/index';
import { templatePublished } from '@llmops/kit/events/prompt';
import * as contract from '@llmops/kit/contracts/prompt';
import { PROMPT_LIMITS } from '@llmops/kit/contracts/prompt';
import type { Context } from 'hono';
import * as parts from '../db/parts.ts';
import * as templates from '../db/templates.ts';
import type {
  DraftEntry,
  DraftMessage,
  FrozenMessage,
  LabelRow,
  TemplateRow,
  TemplateSettings,
  TemplateVersionRow,
} from '../db/templates.ts';
import { actorOf, authorOf } from '../actor.ts';
import { canonicalJson } from '@llmops/kit/canonical-json';
import { checkDeclarations, type VariableDecl } from '../render/inputs.ts';
import { resolveDraft } from '../versions/resolve.ts';
import { templateDiff } from '../versions/template-diff.ts';
import { fieldProblem, iso, isoOrNull, setEtag, type RouteDeps } from './common.ts';

type MessageInput = z.output<typeof contract.MessageInputSchema>;
type EntryInput = z.output<typeof contract.EntryInputSchema>;

export function labelJson(row: LabelRow) {
  return {
    name: row.name,
    version: row.version,
    protected: row.protected,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    updated_by: row.updated_by,
  };
}

export function frozenJson(messages: readonly FrozenMessage[]) {
  return messages.map((message) => ({
    id: message.id,
    role: message.role,
    entries: message.entries.map((entry) => ({
      id: entry.id,
      type: entry.type,
      part_id: entry.part_id,
      part_name: entry.part_name,
      version: entry.version,
      follows: entry.follows,
      text: entry.text,
    })),
  }));
}

export function versionJson(row: TemplateVersionRow) {
  const pairs = new Map<string, { part_id: string; version: number }>();
  for (const entry of row.messages.flatMap((m) => m.entries)) {
    if (entry.part_id && entry.version)
      pairs.set(`${entry.part_id}@${entry.version}`, { part_id: entry.part_id, version: entry.version });
  }
  return {
    template_id: row.template_id,
    version: row.version,
    name: row.name,
    description: row.description,
    merge_adjacent: row.merge_adjacent,
    default_model_id: row.default_model_id,
    default_preset_id: row.default_preset_id,
    variables: row.variables,
    messages: frozenJson(row.messages),
    part_versions: [...pairs.values()],
    message: row.message,
    author: row.author,
    created_at: iso(row.created_at),
    labels: row.labels,
  };
}

function entryFromInput(input: EntryInput): DraftEntry {
  return input.type === 'part'
    ? {
        id: input.id ?? uuidv7(),
        type: 'part',
        part_id: input.part_id,
        version: input.version,
        // `latest` is the built-in label: stored as "follows the latest" (no label).
        label: input.label === 'latest' ? null : input.label,
        text: null,
      }
    : { id: input.id ?? uuidv7(), type: 'text', part_id: null, version: null, label: null, text: input.text };
}

export function messageFromInput(input: MessageInput): DraftMessage {
  return { id: input.id ?? uuidv7(), role: input.role, entries: input.entries.map(entryFromInput) };
}

/**
 * Checks a draft before it is saved, listing every problem at once: sizes, duplicate ids, inline text
 * that does not parse (line and column), parts that do not exist or versions they do not have, and
 * defaults of the wrong type. A deleted part may stay in a draft; publishing refuses it.
 */
export async function validateDraft(
  deps: RouteDeps,
  db: Queryable,
  messages: readonly DraftMessage[],
  variables: readonly VariableDecl[],
): Promise<void> {
  const problems: FieldProblem[] = [];
  const at = (i: number, j: number, leaf: string) => fieldPath('body', 'messages', i, 'entries', j, leaf);
  if (messages.length > PROMPT_LIMITS.messages)
    problems.push({ field: 'body.messages', message: `at most ${PROMPT_LIMITS.messages} messages` });
  const total = messages.reduce((sum, m) => sum + m.entries.length, 0);
  if (total > PROMPT_LIMITS.entries)
    problems.push({ field: 'body.messages', message: `at most ${PROMPT_LIMITS.entries} entries in a template (got ${total})` });
  const ids = new Set<string>();
  const partIds = new Set<string>();
  messages.forEach((message, i) => {
    if (ids.has(message.id))
      problems.push({ field: fieldPath('body', 'messages', i, 'id'), message: 'the same id is used twice' });
    ids.add(message.id);
    if (message.entries.length === 0)
      problems.push({ field: fieldPath('body', 'messages', i, 'entries'), message: 'a message needs at least one entry' });
    if (message.entries.length > PROMPT_LIMITS.entriesPerMessage) {
      problems.push({
        field: fieldPath('body', 'messages', i, 'entries'),
        message: `at most ${PROMPT_LIMITS.entriesPerMessage} entries`,
      });
    }
    message.entries.forEach((entry, j) => {
      if (ids.has(entry.id)) problems.push({ field: at(i, j, 'id'), message: 'the same id is used twice' });
      ids.add(entry.id);
      if (entry.type === 'text') {
        const parsed = deps.renderer.parser.parse(entry.text ?? '');
        if (!parsed.ok) {
          const { line, column, message: text } = parsed.problem;
          problems.push({ field: at(i, j, 'text'), message: `syntax error at line ${line}, column ${column}: ${text}` });
        }
      } else if (entry.part_id) partIds.add(entry.part_id);
    });
  });
  const found = new Map((await parts.findMany(db, [...partIds])).map((row) => [row.id, row]));
  messages.forEach((message, i) =>
    message.entries.forEach((entry, j) => {
      if (entry.type !== 'part' || !entry.part_id) return;
      const part = found.get(entry.part_id);
      if (entry.version !== null && entry.label !== null)
        problems.push({ field: at(i, j, 'label'), message: 'an entry pins a version or follows a label, not both' });
      if (!part) problems.push({ field: at(i, j, 'part_id'), message: `no prompt part ${entry.part_id}` });
      else if (entry.version !== null && (part.latest_version === null || entry.version > part.latest_version)) {
        problems.push({
          field: at(i, j, 'version'),
          message: `part "${part.name}" has no version ${entry.version} (latest: ${part.latest_version ?? 'never published'})`,
        });
      }
    }),
  );
  for (const problem of checkDeclarations(variables))
    problems.push({ field: fieldPath('body', 'variables', problem.index), message: problem.message });
  if (problems.length > 0) throw new Unprocessable(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}

/** The full view of a template: its draft resolved now, variables found, labels. */
export async function templateJson(deps: RouteDeps, db: Queryable, row: TemplateRow) {
  const draft = await templates.messages(db, row.id);
  const resolution = await resolveDraft(db, draft);
  const { variables } = deps.renderer.analyze(resolution.messages);
  const labels = await templates.labels(db, [row.id]);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    merge_adjacent: row.merge_adjacent,
    default_model_id: row.default_model_id,
    default_preset_id: row.default_preset_id,
    variables: row.variables,
    messages: frozenJson(
      resolution.frozen.map((message, i) => ({
        ...message,
        // The draft shows what an entry pins (null when it follows), not what it resolves to now.
        entries: message.entries.map((entry, j) => {
          const pinned = draft[i]?.entries[j];
          return pinned ? { ...entry, version: pinned.version } : entry;
        }),
      })),
    ),
    discovered_variables: variables,
    latest_version: row.latest_version,
    labels: labels.map(labelJson),
    created_by: row.created_by,
    updated_by: row.updated_by,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    deleted_at: isoOrNull(row.deleted_at),
  };
}

function nameTaken(error: unknown, name: string): never {
  if (isPgError(error, PgCode.uniqueViolation))
    throw new Conflict(`A template named "${name}" already exists; pick another name.`);
  throw error;
}

function auditView(row: TemplateRow, messages?: readonly DraftMessage[]) {
  return {
    name: row.name,
    description: row.description,
    merge_adjacent: row.merge_adjacent,
    default_model_id: row.default_model_id,
    default_preset_id: row.default_preset_id,
    variables: row.variables.map((v) => v.name),
    ...(messages ? { messages: messages.map((m) => ({ role: m.role, entries: m.entries.length })) } : {}),
    latest_version: row.latest_version,
  };
}

const PageCursor = z.object({ id: z.uuid() });
const VersionCursor = z.object({ version: z.number().int().positive() });

export function mountTemplates(app: ServiceApp, deps: RouteDeps): void {
  const { pool } = deps;

  async function checkRegistry(c: Context<AppEnv>, settings: Pick<TemplateSettings, 'default_model_id' | 'default_preset_id'>) {
    if (!deps.registry) return;
    await deps.registry.checkDefaults(c.get('requestId'), settings);
  }

  /** Runs an edit of the draft's message list under the template's row lock, with If-Match and audit. */
  async function editDraft(
    c: Context<AppEnv>,
    id: string,
    edit: (draft: DraftMessage[], template: TemplateRow) => DraftMessage[],
  ) {
    const identity = c.get('identity');
    const result = await withTransaction(pool, async (tx) => {
      const before = await templates.find(tx, id, { lock: true });
      if (!before) throw new NotFound(`No template ${id}.`);
      checkIfMatch(c, before.updated_at, `Template "${before.name}"`);
      const draft = await templates.messages(tx, id);
      const next = edit(draft, before);
      await validateDraft(deps, tx, next, before.variables);
      await templates.replaceMessages(tx, id, next);
      const after = await templates.touch(tx, id, authorOf(identity));
      await c.var.audit(tx, 'template.updated', { type: 'template', id }, auditView(before, draft), auditView(after, next));
      return templateJson(deps, tx, after);
    });
    setEtag(c, etagOf(result.updated_at));
    return result;
  }

  function messageIndex(draft: readonly DraftMessage[], messageId: string, template: TemplateRow): number {
    const index = draft.findIndex((m) => m.id === messageId);
    if (index < 0) throw new NotFound(`Template "${template.name}" has no message ${messageId}.`);
    return index;
  }

  app.openapi(contract.listTemplates, async (c) => {
    const query = c.req.valid('query');
    const after = decodeCursor(query.cursor, PageCursor);
    const rows = await templates.list(pool, query.q, query.limit, after?.id);
    const page = rows.slice(0, query.limit);
    const labels = await templates.labels(
      pool,
      page.map((row) => row.id),
    );
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((row) => ({
          id: row.id,
          name: row.name,
          description: row.description,
          latest_version: row.latest_version,
          labels: labels.filter((label) => label.template_id === row.id).map(labelJson),
          message_count: row.message_count,
          created_at: iso(row.created_at),
          updated_at: iso(row.updated_at),
          deleted_at: isoOrNull(row.deleted_at),
        })),
        next_cursor: rows.length > query.limit && last ? encodeCursor({ id: last.id }) : null,
      },
      200,
    );
  });

  app.openapi(contract.createTemplate, async (c) => {
    const identity = c.get('identity');
    const input = c.req.valid('json');
    const draft = input.messages.map(messageFromInput);
    await validateDraft(deps, pool, draft, input.variables);
    await checkRegistry(c, input);
    const outcome = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'template.create', input, async () => {
        const row = await templates
          .insert(tx, uuidv7(), input, authorOf(identity))
          .catch((error: unknown) => nameTaken(error, input.name));
        await templates.replaceMessages(tx, row.id, draft);
        await c.var.audit(tx, 'template.created', { type: 'template', id: row.id }, null, auditView(row, draft));
        return { status: 201, body: await templateJson(deps, tx, row) };
      }),
    );
    setEtag(c, etagOf(outcome.body.updated_at));
    return c.json(outcome.body, 201);
  });

  app.openapi(contract.getTemplate, async (c) => {
    const { id } = c.req.valid('param');
    const row = await templates.find(pool, id);
    if (!row) throw new NotFound(`No template ${id}.`);
    setEtag(c, etagOf(row.updated_at));
    return c.json(await templateJson(deps, pool, row), 200);
  });

  app.openapi(contract.updateTemplate, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    const changes = c.req.valid('json');
    const result = await withTransaction(pool, async (tx) => {
      const before = await templates.find(tx, id, { lock: true });
      if (!before) throw new NotFound(`No template ${id}.`);
      checkIfMatch(c, before.updated_at, `Template "${before.name}"`);
      const draftBefore = await templates.messages(tx, id);
      const settings: TemplateSettings = {
        name: changes.name ?? before.name,
        description: changes.description ?? before.description,
        merge_adjacent: changes.merge_adjacent ?? before.merge_adjacent,
        default_model_id: changes.default_model_id === undefined ? before.default_model_id : changes.default_model_id,
        default_preset_id: changes.default_preset_id === undefined ? before.default_preset_id : changes.default_preset_id,
        variables: changes.variables ?? before.variables,
      };
      const draft = changes.messages ? changes.messages.map(messageFromInput) : draftBefore;
      await validateDraft(deps, tx, draft, settings.variables);
      if (changes.default_model_id !== undefined || changes.default_preset_id !== undefined) await checkRegistry(c, settings);
      const after = await templates
        .update(tx, id, settings, authorOf(identity))
        .catch((error: unknown) => nameTaken(error, settings.name));
      if (changes.messages) await templates.replaceMessages(tx, id, draft);
      await c.var.audit(
        tx,
        'template.updated',
        { type: 'template', id },
        auditView(before, draftBefore),
        auditView(after, draft),
      );
      return templateJson(deps, tx, after);
    });
    setEtag(c, etagOf(result.updated_at));
    return c.json(result, 200);
  });

  app.openapi(contract.deleteTemplate, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    await withTransaction(pool, async (tx) => {
      const before = await templates.find(tx, id, { lock: true });
      if (!before) throw new NotFound(`No template ${id}.`);
      checkIfMatch(c, before.updated_at, `Template "${before.name}"`);
      const guarded = (await templates.labels(tx, [id])).filter((label) => label.protected).map((label) => label.name);
      if (guarded.length > 0 && identity.kind === 'account' && identity.role !== 'admin') {
        throw new Forbidden(
          `Template "${before.name}" has protected labels (${guarded.join(', ')}); only an admin may delete it.`,
        );
      }
      await templates.softDelete(tx, id, authorOf(identity));
      await c.var.audit(tx, 'template.deleted', { type: 'template', id }, auditView(before), null);
    });
    return c.body(null, 204);
  });

  app.openapi(contract.addMessage, async (c) => {
    const { id } = c.req.valid('param');
    const { position, ...input } = c.req.valid('json');
    const message = messageFromInput(input);
    const result = await editDraft(c, id, (draft) => {
      const next = [...draft];
      next.splice(Math.min(position ?? draft.length, draft.length), 0, message);
      return next;
    });
    return c.json(result, 201);
  });

  app.openapi(contract.updateMessage, async (c) => {
    const { id, message_id } = c.req.valid('param');
    const changes = c.req.valid('json');
    const result = await editDraft(c, id, (draft, template) => {
      const index = messageIndex(draft, message_id, template);
      const current = draft[index] as DraftMessage;
      const next = [...draft];
      next[index] = {
        id: current.id,
        role: changes.role ?? current.role,
        entries: changes.entries ? changes.entries.map(entryFromInput) : current.entries,
      };
      return next;
    });
    return c.json(result, 200);
  });

  app.openapi(contract.deleteMessage, async (c) => {
    const { id, message_id } = c.req.valid('param');
    const result = await editDraft(c, id, (draft, template) => {
      const index = messageIndex(draft, message_id, template);
      return draft.filter((_, i) => i !== index);
    });
    return c.json(result, 200);
  });

  app.openapi(contract.reorderMessages, async (c) => {
    const { id } = c.req.valid('param');
    const { message_ids } = c.req.valid('json');
    const result = await editDraft(c, id, (draft) => {
      const current = draft.map((m) => m.id).sort();
      if (message_ids.length !== draft.length || [...message_ids].sort().join() !== current.join()) {
        throw fieldProblem('body.message_ids', `expected each of the draft's ${draft.length} message ids exactly once`);
      }
      return message_ids.map((messageId) => draft.find((m) => m.id === messageId) as DraftMessage);
    });
    return c.json(result, 200);
  });

  app.openapi(contract.addEntry, async (c) => {
    const { id, message_id } = c.req.valid('param');
    const { entry, position } = c.req.valid('json');
    const result = await editDraft(c, id, (draft, template) => {
      const index = messageIndex(draft, message_id, template);
      const current = draft[index] as DraftMessage;
      const entries = [...current.entries];
      entries.splice(Math.min(position ?? entries.length, entries.length), 0, entryFromInput(entry));
      const next = [...draft];
      next[index] = { ...current, entries };
      return next;
    });
    return c.json(result, 201);
  });

  app.openapi(contract.deleteEntry, async (c) => {
    const { id, message_id, entry_id } = c.req.valid('param');
    const result = await editDraft(c, id, (draft, template) => {
      const index = messageIndex(draft, message_id, template);
      const current = draft[index] as DraftMessage;
      if (!current.entries.some((e) => e.id === entry_id)) {
        throw new NotFound(`Message ${message_id} of template "${template.name}" has no entry ${entry_id}.`);
      }
      const entries = current.entries.filter((e) => e.id !== entry_id);
      return entries.length === 0
        ? draft.filter((_, i) => i !== index)
        : draft.map((m, i) => (i === index ? { ...m, entries } : m));
    });
    return c.json(result, 200);
  });

  app.openapi(contract.publishTemplate, async (c) => {
    const identity = c.get('identity');
    const { id } = c.req.valid('param');
    const { message } = c.req.valid('json');
    const outcome = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, `template.publish:${id}`, { message }, async () => {
        const template = await templates.find(tx, id, { lock: true });
        if (!template) throw new NotFound(`No template ${id}.`);
        checkIfMatch(c, template.updated_at, `Template "${template.name}"`);
        const draft = await templates.messages(tx, id);
        if (draft.length === 0) throw fieldProblem('messages', `template "${template.name}" has no messages to publish`);
        // Hold the parts it uses still while freezing them (a concurrent publish of a part waits).
        const partIds = [...new Set(draft.flatMap((m) => m.entries.flatMap((e) => (e.part_id ? [e.part_id] : []))))];
        await tx.query(`SELECT 1 FROM prompt.parts WHERE id = ANY ($1::uuid[]) FOR SHARE`, [partIds]);
        const resolution = await resolveDraft(tx, draft);
        const { problems } = deps.renderer.analyze(resolution.messages);
        const all = [...resolution.problems, ...problems];
        if (all.length > 0) {
          throw new Unprocessable(
            `Template "${template.name}" cannot be published: ${all.map((p) => p.message).join('; ')}`,
            all.map((p) => ({
              field: p.source ? fieldPath('messages', p.source.message_index, 'entries', p.source.entry_index) : 'template',
              message: p.message,
            })),
          );
        }
        await checkRegistry(c, template);
        if (template.latest_version !== null) {
          const latest = (await templates.findVersion(tx, id, template.latest_version)) as TemplateVersionRow;
          const settings = (row: TemplateRow | TemplateVersionRow) =>
            canonicalJson([
              row.name,
              row.description,
              row.merge_adjacent,
              row.default_model_id,
              row.default_preset_id,
              row.variables,
            ]);
          // jsonb reorders object keys: compare canonical forms.
          const same =
            canonicalJson(latest.messages) === canonicalJson(resolution.frozen) && settings(latest) === settings(template);
          if (same)
            throw new Conflict(`Template "${template.name}" is unchanged since version ${latest.version}; nothing to publish.`);
        }
        const next = (template.latest_version ?? 0) + 1;
        const version = await templates.insertVersion(tx, template, next, resolution.frozen, message, authorOf(identity));
        const body = versionJson(version);
        await c.var.audit(
          tx,
          'template.published',
          { type: 'template', id },
          { latest_version: template.latest_version },
          {
            latest_version: next,
            message,
            part_versions: body.part_versions,
          },
        );
        await publish(tx, templatePublished, {
          template_id: id,
          version: next,
          name: template.name,
          part_versions: body.part_versions,
          actor: actorOf(identity),
          at: body.created_at,
        });
        return { status: 201, body };
      }),
    );
    return c.json(outcome.body, 201);
  });

  async function mustFindAny(id: string) {
    const row = await templates.find(pool, id, { withDeleted: true });
    if (!row) throw new NotFound(`No template ${id}.`);
    return row;
  }

  app.openapi(contract.listTemplateVersions, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    await mustFindAny(id);
    const after = decodeCursor(query.cursor, VersionCursor);
    const rows = await templates.versions(pool, id, query.limit, after?.version);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map((row) => ({
          template_id: row.template_id,
          version: row.version,
          name: row.name,
          message: row.message,
          author: row.author,
          created_at: iso(row.created_at),
          labels: row.labels,
        })),
        next_cursor: rows.length > query.limit && last ? encodeCursor({ version: last.version }) : null,
      },
      200,
    );
  });

  app.openapi(contract.getTemplateVersion, async (c) => {
    const { id, version } = c.req.valid('param');
    const row = await templates.findVersion(pool, id, version);
    if (!row) {
      const template = await mustFindAny(id);
      throw new NotFound(
        `Template "${template.name}" has no version ${version} (latest: ${template.latest_version ?? 'never published'}).`,
      );
    }
    return c.json(versionJson(row), 200);
  });

  app.openapi(contract.diffTemplate, async (c) => {
    const { id } = c.req.valid('param');
    const query = c.req.valid('query');
    const template = await mustFindAny(id);
    const to = query.to ?? 'draft';
    const from = query.from ?? (to === 'draft' ? template.latest_version : to > 1 ? to - 1 : null);
    return c.json(await templateDiff(pool, template, from, to), 200);
  });
}
