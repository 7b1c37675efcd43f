import type { EventContract } from '../bus/contract.ts';
import type { Scope } from '../http/access.ts';
import { PROMPT_EVENTS } from './prompt.ts';
import { TASK_EVENTS } from './runner.ts';
import { WORKFLOW_EVENTS } from './workflow.ts';

/**
 * What the public event stream (`GET /api/v1/events`) shows, and the scope a caller needs for each family
 * (a session has every scope of its role): one line per family. Every other topic never leaves the bus —
 * `runner.task.requested` (its inputs may hold a post's text), the audit trail, the gateway's bookkeeping,
 * the registry's changes. The workflow's events (ids only, never field values) go to callers with
 * `workflow:read`; the prompt service's publications and label moves (ids, names, versions, who — what its
 * pages show anyway) to callers with `prompts:read`, so the prompt pages reload when what they show changes. The public document's `LiveEvent` component is generated from
 * this list (contracts/live.ts).
 */
export const LIVE_EVENT_FAMILIES = [
  { scope: 'tasks:read', events: TASK_EVENTS },
  { scope: 'workflow:read', events: WORKFLOW_EVENTS },
  { scope: 'prompts:read', events: PROMPT_EVENTS },
] as const satisfies readonly {
  scope: Scope;
  events: readonly EventContract[];
}[];

/** Every contract the event stream may show. */
export const LIVE_EVENTS: readonly EventContract[] = LIVE_EVENT_FAMILIES.flatMap(
  (family): readonly EventContract[] => family.events,
);

/** Every topic the event stream may show. */
export const LIVE_TOPICS: readonly string[] = LIVE_EVENTS.map((contract) => contract.topic);

const liveTopics = new Set(LIVE_TOPICS);

/** True when the event stream may show this topic to someone. */
export function isLiveTopic(topic: string): boolean {
  return liveTopics.has(topic);
}

/** The live topics a caller holding `scopes` may see (`admin` sees every one). */
export function liveTopicsFor(scopes: readonly Scope[]): string[] {
  return LIVE_EVENT_FAMILIES.filter((family) => scopes.includes(family.scope) || scopes.includes('admin')).flatMap((family) =>
    family.events.map((contract) => contract.topic),
  );
}

/** The live topics a topic filter names: a topic, or a prefix of some (`runner.task.`). */
export function topicsMatching(filter: string, among: readonly string[] = LIVE_TOPICS): string[] {
  return among.filter((topic) => topic.startsWith(filter));
}
