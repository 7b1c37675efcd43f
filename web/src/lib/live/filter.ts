import type { components } from '../api/schema.d.ts';

/** One message of the gateway's event stream, typed from the public document's `LiveEvent` component. */
export type LiveEvent = components['schemas']['LiveEvent'];
/** The name of a message: a public topic, or `delta`, `ready`, `resync`. */
export type LiveEventName = LiveEvent['event'];
/** A durable event's topic. */
export type LiveTopic = Exclude<LiveEventName, 'delta' | 'ready' | 'resync'>;
/** The message of one name, e.g. `LiveEventOf<'runner.task.succeeded'>['data']['payload']`. */
export type LiveEventOf<Name extends LiveEventName> = Extract<LiveEvent, { event: Name }>;

/**
 * Every message name the stream may send. An `EventSource` calls a listener only for the names it was
 * given, so the list is needed at run time; the checks below fail the type check when the public document
 * gains a topic this list lacks (or names one it no longer has), so it cannot drift.
 */
export const LIVE_EVENT_NAMES = [
  'ready',
  'resync',
  'delta',
  'runner.task.queued',
  'runner.task.started',
  'runner.task.retrying',
  'runner.task.succeeded',
  'runner.task.failed',
  'runner.task.cancelled',
  'runner.task.rejected',
  'workflow.post.changed',
  'workflow.revision.written',
  'workflow.run.finished',
  'workflow.suggestion.decided',
  'prompt.part.published',
  'prompt.template.published',
  'prompt.label.moved',
] as const satisfies readonly LiveEventName[];
type Unlisted = Exclude<LiveEventName, (typeof LIVE_EVENT_NAMES)[number]>;
const everyNameListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyNameListed;

/**
 * What a page or component wants to hear about. Every given field must match (AND), one of the values of a
 * list (OR); a field left out matches everything. `ready` and `resync` reach every subscriber.
 */
export interface LiveFilter {
  task_id?: readonly string[];
  group_id?: readonly string[];
  /** Topics or prefixes of some, e.g. `runner.task.` or `runner.task.succeeded`. */
  topics?: readonly string[];
  /** Events whose payload `correlation` has every key of this one with an equal value. */
  correlation?: Record<string, unknown>;
  /** The streamed output (`delta`) of the tasks this filter selects. */
  deltas?: boolean;
}

/** The filter of the one stream: what the gateway is asked for (events/live docs in docs/events.md). */
export interface StreamFilter {
  task_id?: string[];
  group_id?: string[];
  topics?: string[];
  correlation?: Record<string, unknown>;
  deltas: boolean;
}

/** The gateway's limits per repeated parameter: past them the union asks for everything of that field. */
export const STREAM_LIMITS = { task_id: 100, group_id: 100, topics: 50 } as const;

/** JSON with sorted keys, so equal values compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The values of a list field across filters: undefined (everything) when any filter leaves it out or there are too many. */
function unionOfField(lists: (readonly string[] | undefined)[], limit: number): string[] | undefined {
  if (lists.length === 0 || lists.some((list) => list === undefined)) return undefined;
  const values = [...new Set(lists.flatMap((list) => list ?? []))].sort();
  return values.length > limit ? undefined : values;
}

/**
 * The one stream's filter for every subscriber's: a superset of what each one wants (the gateway takes one
 * AND of lists, not an OR of filters), narrowed again per subscriber when messages arrive (`wants`).
 */
export function unionOf(filters: readonly LiveFilter[]): StreamFilter {
  const task_id = unionOfField(
    filters.map((filter) => filter.task_id),
    STREAM_LIMITS.task_id,
  );
  const group_id = unionOfField(
    filters.map((filter) => filter.group_id),
    STREAM_LIMITS.group_id,
  );
  const topics = unionOfField(
    filters.map((filter) => filter.topics),
    STREAM_LIMITS.topics,
  );
  // The gateway takes one correlation: kept only when every filter has the same.
  const correlations = new Set(filters.map((filter) => (filter.correlation ? canonicalJson(filter.correlation) : '')));
  const [only] = correlations;
  const correlation = correlations.size === 1 && only ? (JSON.parse(only) as Record<string, unknown>) : undefined;
  return {
    ...(task_id ? { task_id } : {}),
    ...(group_id ? { group_id } : {}),
    ...(topics ? { topics } : {}),
    ...(correlation ? { correlation } : {}),
    deltas: filters.some((filter) => filter.deltas === true),
  };
}

/** The stream's query string (stable for an equal filter, so a changed union is a changed string). */
export function queryOf(filter: StreamFilter, lastEventId?: string): string {
  const query = new URLSearchParams();
  for (const id of filter.task_id ?? []) query.append('task_id', id);
  for (const id of filter.group_id ?? []) query.append('group_id', id);
  for (const topic of filter.topics ?? []) query.append('topic', topic);
  if (filter.correlation) query.set('correlation', canonicalJson(filter.correlation));
  query.set('deltas', filter.deltas ? 'matching' : 'none');
  if (lastEventId) query.set('last_event_id', lastEventId);
  return query.toString();
}

function field(payload: unknown, name: string): unknown {
  return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[name] : undefined;
}

function oneOf(wanted: readonly string[] | undefined, value: unknown): boolean {
  return wanted === undefined || (typeof value === 'string' && wanted.includes(value));
}

function correlates(payload: unknown, wanted: Record<string, unknown> | undefined): boolean {
  if (wanted === undefined) return true;
  const correlation = field(payload, 'correlation');
  if (typeof correlation !== 'object' || correlation === null || Array.isArray(correlation)) return false;
  const fields = correlation as Record<string, unknown>;
  return Object.entries(wanted).every(
    ([key, value]) => Object.hasOwn(fields, key) && canonicalJson(fields[key]) === canonicalJson(value),
  );
}

const isTaskTopic = (topic: string) => topic.startsWith('runner.task.');

/** Whether a subscriber with this filter wants the message: the gateway's own rule, for one subscriber. */
export function wants(filter: LiveFilter, message: LiveEvent): boolean {
  if (message.event === 'ready' || message.event === 'resync') return true;
  let payload: unknown;
  if (message.event === 'delta') {
    // Deltas are a task's output: for a filter that asked for them and hears of tasks at all.
    if (!filter.deltas) return false;
    if (filter.topics && !filter.topics.some((topic) => isTaskTopic(topic) || 'runner.task.'.startsWith(topic))) return false;
    payload = message.data;
  } else {
    if (filter.topics && !filter.topics.some((topic) => message.event.startsWith(topic))) return false;
    payload = message.data.payload;
  }
  return (
    oneOf(filter.task_id, field(payload, 'task_id')) &&
    oneOf(filter.group_id, field(payload, 'group_id')) &&
    correlates(payload, filter.correlation)
  );
}
