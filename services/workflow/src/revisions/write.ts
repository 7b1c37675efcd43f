import type { Queryable } from '@llmops/kit/db';
import { publish } from '@llmops/kit/bus/index';
import { STALE_REVISION } from '@llmops/kit/contracts/workflow';
import { revisionWritten } from '@llmops/kit/events/workflow';
import { uuidv7 } from '@llmops/kit/ids';
import { HttpProblem, type Problem } from '@llmops/kit/problem';
import * as posts from '../db/posts.ts';
import * as values from '../db/values.ts';
import type { Author, CurrentValue } from '../db/values.ts';

/**
 * A write based on a revision that is no longer the current one: a 409 that shows both values, so the
 * editor can merge by hand. Never a silent overwrite.
 */
export class StaleRevision extends HttpProblem {
  readonly current: { revision_id: string | null; value: unknown; author: Author | null; updated_at: string | null };
  readonly yours: { base_revision_id: string | null; value: unknown };
  constructor(current: CurrentValue | undefined, base: string | null, value: unknown) {
    super(
      409,
      STALE_REVISION,
      'Stale revision',
      `This value changed since revision ${base ?? '(none)'} you started from: it is now revision ${current?.id ?? '(none)'}. Compare both values, then write again naming the current revision as base_revision_id.`,
    );
    this.current = {
      revision_id: current?.id ?? null,
      value: current?.value ?? null,
      author: current ? { kind: current.author_kind, id: current.author_id } : null,
      updated_at: current ? current.amended_at.toISOString() : null,
    };
    this.yours = { base_revision_id: base, value };
  }
  override toProblem(instance?: string): Problem & { current: unknown; yours: unknown } {
    return { ...super.toProblem(instance), current: this.current, yours: this.yours };
  }
}

export interface ValueWrite {
  postId: string;
  sectionId: string | null;
  field: { id: string; key: string };
  value: unknown;
  /** The revision the writer read; null when the value had none. */
  base: string | null;
  author: Author;
  /** An account's autosave amends its own head revision while it is younger than the window. */
  autosave?: { windowMs: number } | undefined;
  sourceTaskId?: string | null;
  restoredFrom?: string | null;
}

/**
 * Writes a value as a new revision (or amends the author's open one), in the caller's transaction: the
 * value row is locked first, so two writers based on the same revision cannot both win. Publishes
 * `workflow.revision.written` and touches the post. Returns the value as it is now.
 */
export async function writeValue(tx: Queryable, write: ValueWrite): Promise<CurrentValue> {
  const target = { postId: write.postId, sectionId: write.sectionId, fieldId: write.field.id };
  const revisionId = uuidv7();
  const claimed = await values.claim(tx, target, { valueId: uuidv7(), revisionId });
  const head = claimed.created ? null : claimed.head_revision_id;
  if (head !== write.base) throw new StaleRevision(await values.current(tx, target), write.base, write.value);
  let amended = false;
  if (claimed.created) {
    await values.insertRevision(tx, { ...revisionOf(write, revisionId, claimed.id), previousRevisionId: null });
  } else {
    const current = (await values.current(tx, target)) as CurrentValue;
    amended =
      write.autosave !== undefined &&
      write.author.kind === 'account' &&
      current.author_kind === 'account' &&
      current.author_id === write.author.id &&
      current.source_task_id === null &&
      current.restored_from_revision_id === null &&
      (await values.isOpen(tx, current.id, write.autosave.windowMs));
    if (amended) await values.amend(tx, current.id, write.value);
    else await values.insertRevision(tx, { ...revisionOf(write, revisionId, claimed.id), previousRevisionId: current.id });
  }
  const now = (await values.current(tx, target)) as CurrentValue;
  await posts.touch(tx, write.postId);
  await publish(tx, revisionWritten, {
    post_id: write.postId,
    section_id: write.sectionId,
    field_key: write.field.key,
    revision_id: now.id,
    author: write.author,
    amended,
    at: new Date().toISOString(),
  });
  return now;
}

function revisionOf(write: ValueWrite, id: string, valueId: string) {
  return {
    id,
    valueId,
    value: write.value,
    author: write.author,
    sourceTaskId: write.sourceTaskId ?? null,
    restoredFrom: write.restoredFrom ?? null,
  };
}
