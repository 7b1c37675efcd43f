import { z } from 'zod';
import { defineEvent } from '../bus/contract.ts';

const actor = z.object({ kind: z.enum(['account', 'service']), id: z.string().min(1) });

/** A prompt part was published as a new immutable version. */
export const partPublished = defineEvent({
  topic: 'prompt.part.published',
  payload: z.object({
    part_id: z.uuid(),
    version: z.number().int().positive(),
    name: z.string(),
    kind: z.string(),
    actor,
    at: z.iso.datetime({ offset: true }),
  }),
  key: (payload) => payload.part_id,
});

/** A template was published: the version and the exact part versions it froze (ADR 0012). */
export const templatePublished = defineEvent({
  topic: 'prompt.template.published',
  payload: z.object({
    template_id: z.uuid(),
    version: z.number().int().positive(),
    name: z.string(),
    part_versions: z.array(z.object({ part_id: z.uuid(), version: z.number().int().positive() })),
    actor,
    at: z.iso.datetime({ offset: true }),
  }),
  key: (payload) => payload.template_id,
});

/** A template label was set, moved or deleted (`to_version` null); from null means it was created. */
export const labelMoved = defineEvent({
  topic: 'prompt.label.moved',
  payload: z.object({
    template_id: z.uuid(),
    label: z.string(),
    from_version: z.number().int().positive().nullable(),
    to_version: z.number().int().positive().nullable(),
    protected: z.boolean(),
    actor,
    at: z.iso.datetime({ offset: true }),
  }),
  key: (payload) => payload.template_id,
});

export const PROMPT_EVENTS = [partPublished, templatePublished, labelMoved] as const;
