import { z } from 'zod';

/** `<service>.<entity>.<what happened>`, lower case, dot separated: `registry.provider.changed`. */
export const TOPIC_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** String headers only, so the envelope maps onto Kafka/NATS headers unchanged (ADR 0009). */
export type EventHeaders = Record<string, string>;

/**
 * A typed event contract: the topic and the zod schema of its payload. Producers validate before the
 * insert, consumers validate after the read; the schema is the contract between services.
 */
export interface EventContract<Topic extends string = string, Schema extends z.ZodType = z.ZodType> {
  readonly topic: Topic;
  readonly payload: Schema;
  /** The key when publish() is given none (events of one key are delivered in order). */
  readonly key?: (payload: z.output<Schema>) => string;
}

export function defineEvent<const Topic extends string, Schema extends z.ZodType>(contract: {
  topic: Topic;
  payload: Schema;
  key?: (payload: z.output<Schema>) => string;
}): EventContract<Topic, Schema> {
  if (!TOPIC_PATTERN.test(contract.topic)) {
    throw new Error(
      `event topic ${JSON.stringify(contract.topic)} must look like "service.entity.happened" (lower case, dot separated)`,
    );
  }
  return Object.freeze({ ...contract });
}

/** What a payload of the contract looks like after validation. */
export type PayloadOf<C extends EventContract> = z.output<C['payload']>;

/** What publish() accepts for the contract (before defaults and transforms). */
export type PayloadInputOf<C extends EventContract> = z.input<C['payload']>;

/** One event as consumers and broadcast readers see it: the broker-neutral envelope plus its place on the bus. */
export interface BusEvent<Topic extends string = string, Payload = unknown> {
  /** The event id (UUIDv7): handlers use it to be idempotent. */
  id: string;
  topic: Topic;
  key: string;
  partition: number;
  payload: Payload;
  headers: EventHeaders;
  /** Commit-safe position "<txid>-<id>" (the SSE event id of the gateway). */
  position: string;
  createdAt: Date;
}

/** The union of typed events of a list of contracts, discriminated by `topic`. */
export type EventOf<C extends EventContract> =
  C extends EventContract<infer Topic, infer Schema> ? BusEvent<Topic, z.output<Schema>> : never;

/** A payload that does not match its contract. Publishing throws it; consuming dead-letters the event with it. */
export class EventPayloadError extends Error {
  override name = 'EventPayloadError';
  readonly topic: string;
  readonly issues: z.core.$ZodIssue[];
  constructor(topic: string, error: z.ZodError) {
    super(`payload of ${topic} does not match its contract:\n${z.prettifyError(error)}`);
    this.topic = topic;
    this.issues = error.issues;
  }
}

/** Validates a payload against its contract: the parsed value, or an EventPayloadError. */
export function parsePayload<C extends EventContract>(contract: C, payload: unknown): PayloadOf<C> {
  const result = contract.payload.safeParse(payload);
  if (!result.success) throw new EventPayloadError(contract.topic, result.error);
  return result.data as PayloadOf<C>;
}

const headersSchema = z.record(z.string().min(1).max(200), z.string().max(4000));

export function parseHeaders(headers: unknown): EventHeaders {
  const result = headersSchema.safeParse(headers ?? {});
  if (!result.success) throw new Error(`event headers must be an object of string values:\n${z.prettifyError(result.error)}`);
  return result.data;
}
