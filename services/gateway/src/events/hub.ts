import type { Bus, BroadcastReader, BusEvent } from '@llmops/kit/bus/index';
import { PositionExpiredError, positionStatus } from '@llmops/kit/bus/index';
import { comparePositions, isPosition, parsePosition } from '@llmops/kit/bus/position';
import type { Pool } from '@llmops/kit/db';
import { isLiveTopic } from '@llmops/kit/events/live';
import { TASK_DELTAS_CHANNEL, TASK_EVENTS, type TaskDelta } from '@llmops/kit/events/runner';
import type { Logger } from '@llmops/kit/logger';
import type { EventFilter, EventStreams } from '../ports.ts';
import { canonicalJson } from '@llmops/kit/canonical-json';

export type { EventFilter };

export interface HubOptions {
  bus: Bus;
  pool: Pool;
  log: Logger;
  heartbeatMs: number;
  /** A client whose unsent backlog passes this many bytes is dropped. */
  maxBacklogBytes: number;
  /** Recent events kept in memory, so a reconnecting client resumes without reading the database. */
  historySize: number;
  /**
   * How long the live feed (the broadcast reader and the delta subscription) keeps running after the last
   * client left: a client that comes back within it (the dashboard reopens its stream as the page changes)
   * resumes from memory; after it, nothing is read until a client comes.
   */
  idleMs: number;
}

interface Dispatched {
  event: BusEvent;
  frame: Uint8Array;
}

const encoder = new TextEncoder();

/** Deltas are the output of tasks: a client gets them only when it gets task events. */
const TASK_TOPICS = new Set<string>(TASK_EVENTS.map((contract) => contract.topic));

function field(payload: unknown, name: string): unknown {
  return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[name] : undefined;
}

function scalar(payload: unknown, name: string): string | undefined {
  const value = field(payload, name);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** A client's filter, ready to test payloads against: the correlation's values as canonical JSON. */
interface CompiledFilter {
  task_id: ReadonlySet<string> | undefined;
  group_id: ReadonlySet<string> | undefined;
  topics: ReadonlySet<string>;
  deltas: boolean;
  correlation: [key: string, json: string][] | undefined;
}

function compile(filter: EventFilter): CompiledFilter {
  return {
    task_id: filter.task_id && new Set(filter.task_id),
    group_id: filter.group_id && new Set(filter.group_id),
    topics: new Set(filter.topics),
    deltas: filter.deltas === 'matching' && filter.topics.some((topic) => TASK_TOPICS.has(topic)),
    correlation: filter.correlation && Object.entries(filter.correlation).map(([key, value]) => [key, canonicalJson(value)]),
  };
}

/** The payload's correlation is an object with every key of the filter's, each with an equal value. */
function correlates(payload: unknown, wanted: readonly [string, string][]): boolean {
  const correlation = field(payload, 'correlation');
  if (typeof correlation !== 'object' || correlation === null || Array.isArray(correlation)) return false;
  const fields = correlation as Record<string, unknown>;
  return wanted.every(([key, json]) => Object.hasOwn(fields, key) && canonicalJson(fields[key]) === json);
}

function oneOf(wanted: ReadonlySet<string> | undefined, value: string | undefined): boolean {
  return wanted === undefined || (value !== undefined && wanted.has(value));
}

/** Durable events must be of one of the filter's topics; deltas (topic undefined) need `deltas`. Then the payload fields. */
function matches(filter: CompiledFilter, topic: string | undefined, payload: unknown): boolean {
  if (topic === undefined ? !filter.deltas : !filter.topics.has(topic)) return false;
  if (!oneOf(filter.task_id, scalar(payload, 'task_id'))) return false;
  if (!oneOf(filter.group_id, scalar(payload, 'group_id'))) return false;
  if (filter.correlation !== undefined && !correlates(payload, filter.correlation)) return false;
  return true;
}

function after(a: string, b: string): boolean {
  return comparePositions(parsePosition(a), parsePosition(b)) > 0;
}

function eventFrame(event: BusEvent): Uint8Array {
  const data = JSON.stringify({
    id: event.id,
    topic: event.topic,
    key: event.key,
    position: event.position,
    payload: event.payload,
    created_at: event.createdAt.toISOString(),
  });
  return encoder.encode(`id: ${event.position}\nevent: ${event.topic}\ndata: ${data}\n\n`);
}

/** One connected client: its filter, where it stands, and its stream. */
class Client {
  readonly filter: CompiledFilter;
  readonly stream: ReadableStream<Uint8Array>;
  /** The last durable event position sent (or the client's Last-Event-ID): later ones only. */
  lastSent: string | undefined;
  /** While a database replay runs, live events wait here. */
  pending: Dispatched[] | undefined;
  closed = false;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly #onClose: (client: Client, reason: string) => void;

  readonly #drop: (() => void) | undefined;

  constructor(
    filter: EventFilter,
    maxBacklogBytes: number,
    onClose: (client: Client, reason: string) => void,
    drop: (() => void) | undefined,
  ) {
    this.filter = compile(filter);
    this.#onClose = onClose;
    this.#drop = drop;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        cancel: () => this.#end('disconnected'),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: maxBacklogBytes }),
    );
  }

  /** Queues bytes (never waits: one client must not hold up the others). */
  write(bytes: Uint8Array): void {
    if (this.closed) return;
    try {
      this.#controller.enqueue(bytes);
    } catch {
      this.#end('gone'); // the stream ended under us (the socket closed): never let it stop the others
    }
  }

  /**
   * Drops the client when what it was sent before is still unsent beyond the limit: checked before each
   * new batch and heartbeat, so a burst that the client drains in time is fine, a client that does not
   * keep up is let go (it reconnects and resumes with Last-Event-ID). True when it was dropped.
   */
  dropIfBehind(): boolean {
    if (this.closed || (this.#controller.desiredSize ?? 0) >= 0) return this.closed;
    this.#end('slow');
    // Closing its socket is the quiet way; erroring the stream makes the server end it too.
    if (this.#drop) this.#drop();
    else this.#controller.error(new Error('event stream client too slow; dropped'));
    return true;
  }

  send(dispatched: Dispatched): void {
    if (this.lastSent !== undefined && !after(dispatched.event.position, this.lastSent)) return;
    this.lastSent = dispatched.event.position;
    if (matches(this.filter, dispatched.event.topic, dispatched.event.payload)) this.write(dispatched.frame);
  }

  close(): void {
    if (this.closed) return;
    this.#end('closed');
    this.#controller.close();
  }

  #end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#onClose(this, reason);
  }
}

/**
 * Live events for every SSE client of this process: one broadcast reader and one subscription to the
 * task delta stream (sharing the bus's one LISTEN connection) fan out to all clients. They run only while
 * a client is connected (and `idleMs` after the last one left): with no client, the gateway reads no
 * event at all (each commit of the runner's would otherwise cost it a read). The first client starts them
 * from the bus's commit-safe "now"; a client resuming from before that replays from the outbox. Durable events
 * carry their commit-safe bus position as SSE id. A client that comes back with Last-Event-ID gets what
 * it missed: from the in-memory history when it reaches back far enough, else from the outbox through
 * a replay reader of its own that hands over to the live feed without gaps or repeats; a position older
 * than retention, past every event (a restored database) or not a position at all gets `resync`.
 * Deltas are live only.
 */
export class EventHub implements EventStreams {
  readonly #options: HubOptions;
  readonly #clients = new Set<Client>();
  readonly #history: Dispatched[] = [];
  #reader: BroadcastReader | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  /** The live feed, starting or running; undefined while idle. */
  #live: Promise<void> | undefined;
  /** The live feed stopping (the idle timer fired); a start waits for it. */
  #stopping: Promise<void> = Promise.resolve();
  #idleTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Everything after this position has been dispatched (or is in history): the hub's start, then its latest event. */
  #dispatched = '0-0';
  /** History holds every event after this position. */
  #historyFrom = '0-0';
  #replays = new Set<BroadcastReader>();
  #dropped = 0;
  #markStarted!: () => void;
  /** Clients wait for the live reader: a resume point must not fall between their replay and it. */
  readonly #started = new Promise<void>((resolve) => (this.#markStarted = resolve));

  constructor(options: HubOptions) {
    this.#options = options;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Clients dropped for being too slow since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether the live feed is reading the bus (a client is connected, or left less than `idleMs` ago). */
  get live(): boolean {
    return this.#live !== undefined;
  }

  async start(): Promise<void> {
    this.#heartbeat = setInterval(() => {
      const beat = encoder.encode(': heartbeat\n\n');
      for (const client of this.#clients) if (!client.dropIfBehind()) client.write(beat);
    }, this.#options.heartbeatMs);
    this.#heartbeat.unref();
    this.#markStarted();
    this.#options.log.debug('event hub started; it reads the bus while clients are connected');
  }

  async stop(): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    for (const client of this.#clients) client.close();
    await Promise.all([...this.#replays].map((reader) => reader.stop()));
    await this.#stopping;
    await this.#goIdle();
  }

  /** Starts the live feed (or keeps it running): from the bus's "now", with an empty history. */
  async #goLive(): Promise<void> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#live ??= this.#startLive().catch((error: unknown) => {
      this.#live = undefined;
      throw error;
    });
    await this.#live;
  }

  async #startLive(): Promise<void> {
    await this.#stopping;
    const { bus, log } = this.#options;
    const reader = await bus.broadcast({ handler: (events) => this.#dispatch(events), onExpired: () => void this.#restart() });
    this.#reader = reader;
    this.#history.length = 0;
    this.#dispatched = reader.position;
    this.#historyFrom = this.#dispatched;
    try {
      this.#unsubscribe = await bus.ephemeral.subscribe<TaskDelta>(TASK_DELTAS_CHANNEL, (items) => this.#deltas(items));
    } catch (error) {
      this.#reader = undefined;
      await reader.stop();
      throw error;
    }
    log.debug({ position: this.#dispatched }, 'event hub reads the bus');
  }

  /** The last client left: stop reading after `idleMs` unless another comes. */
  #idleLater(): void {
    if (this.#clients.size > 0 || this.#live === undefined || this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#clients.size === 0) this.#stopping = this.#goIdle();
    }, this.#options.idleMs);
    this.#idleTimer.unref();
  }

  async #goIdle(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    await live?.catch(() => undefined);
    const reader = this.#reader;
    const unsubscribe = this.#unsubscribe;
    this.#reader = undefined;
    this.#unsubscribe = undefined;
    try {
      await reader?.stop();
      await unsubscribe?.();
    } catch (error) {
      this.#options.log.warn({ err: error }, 'the event hub could not stop its live feed cleanly');
    }
    if (reader) this.#options.log.debug('event hub idle: no client, no reads');
  }

  /** Ends every client's stream (shutdown begins): each reconnects and resumes from its last event. */
  closeClients(): void {
    for (const client of this.#clients) client.close();
  }

  /** A new client's stream: resumes after `lastEventId` when given. */
  async open(filter: EventFilter, lastEventId: string | undefined, drop?: () => void): Promise<ReadableStream<Uint8Array>> {
    await this.#started;
    await this.#goLive();
    const client = new Client(
      filter,
      this.#options.maxBacklogBytes,
      (gone, reason) => {
        this.#clients.delete(gone);
        if (reason === 'slow') {
          this.#dropped += 1;
          this.#options.log.warn({ clients: this.#clients.size }, 'dropped a slow event stream client');
        }
        this.#idleLater();
      },
      drop,
    );
    client.write(encoder.encode('retry: 2000\n\n'));
    this.#clients.add(client);
    const resumeFrom = lastEventId?.trim();
    if (!resumeFrom) {
      client.lastSent = this.#dispatched;
      client.write(
        encoder.encode(
          `id: ${this.#dispatched}\nevent: ready\ndata: ${JSON.stringify({ position: this.#dispatched, resumed: false })}\n\n`,
        ),
      );
      return client.stream;
    }
    if (!isPosition(resumeFrom)) {
      this.#resync(client, 'Last-Event-ID is not a position this API gave out');
      return client.stream;
    }
    client.lastSent = resumeFrom;
    if (after(resumeFrom, this.#dispatched)) return this.#resumeAhead(client, resumeFrom);
    if (!after(this.#historyFrom, resumeFrom)) {
      // History reaches back far enough: everything after the client's position is in memory.
      for (const dispatched of this.#history) client.send(dispatched);
      client.write(encoder.encode(`event: ready\ndata: ${JSON.stringify({ position: client.lastSent, resumed: true })}\n\n`));
      return client.stream;
    }
    // From here until the replay is done, live events wait in `pending`; the replay covers up to `target`.
    const target = this.#dispatched;
    client.pending = [];
    try {
      if ((await positionStatus(this.#options.pool, resumeFrom)) === 'expired') throw new PositionExpiredError(resumeFrom);
      await this.#replay(client, resumeFrom, target);
    } catch (error) {
      if (!(error instanceof PositionExpiredError)) {
        client.close();
        throw error;
      }
      this.#resync(client, 'Last-Event-ID is older than the retained events', target);
      this.#flush(client);
    }
    return client.stream;
  }

  /**
   * A position past everything this instance has dispatched: another instance may be a step further on
   * (then the live feed brings what follows), or the bus went back — a restored database — and every
   * event it gives out from now on would be "before" the client's position, so it would get nothing,
   * silently. The database tells which; live events wait meanwhile.
   */
  async #resumeAhead(client: Client, resumeFrom: string): Promise<ReadableStream<Uint8Array>> {
    client.pending = [];
    try {
      if ((await positionStatus(this.#options.pool, resumeFrom)) === 'ahead') {
        this.#resync(client, 'Last-Event-ID is ahead of every event on the server (was its database restored?)');
        this.#flush(client);
        return client.stream;
      }
    } catch (error) {
      client.close();
      throw error;
    }
    this.#flush(client);
    client.write(encoder.encode(`event: ready\ndata: ${JSON.stringify({ position: client.lastSent, resumed: true })}\n\n`));
    return client.stream;
  }

  #resync(client: Client, reason: string, position = this.#dispatched): void {
    client.lastSent = position;
    client.write(encoder.encode(`id: ${position}\nevent: resync\ndata: ${JSON.stringify({ reason, position })}\n\n`));
  }

  /** Sends what waited during a replay; from now on live events go straight out. */
  #flush(client: Client): void {
    const held = client.pending ?? [];
    client.pending = undefined;
    for (const dispatched of held) client.send(dispatched);
  }

  /**
   * Replays from the outbox what the client missed up to `target` (what the hub had dispatched when the
   * client came), while live events wait; then sends the held ones. Each event once: only positions
   * after the last one sent go out.
   */
  async #replay(client: Client, from: string, target: string): Promise<void> {
    const own: { reader?: BroadcastReader } = {};
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (!client.closed) {
        this.#flush(client);
        client.write(encoder.encode(`event: ready\ndata: ${JSON.stringify({ position: client.lastSent, resumed: true })}\n\n`));
      }
      if (own.reader) {
        this.#replays.delete(own.reader);
        void own.reader.stop();
      }
    };
    const reader = await this.#options.bus.broadcast({
      from,
      handler: (events) => {
        for (const event of events) {
          if (done) return;
          if (client.closed || after(event.position, target)) return finish();
          if (isLiveTopic(event.topic)) client.send({ event, frame: eventFrame(event) });
          else client.lastSent = event.position;
          if (event.position === target) return finish();
        }
      },
    });
    own.reader = reader;
    if (done) {
      void reader.stop();
      return;
    }
    this.#replays.add(reader);
    // There may be no event at `target` (the hub's start): the reader's own position passing it ends the replay.
    const poll = setInterval(() => {
      if (done) clearInterval(poll);
      else if (client.closed || !after(target, reader.position)) {
        clearInterval(poll);
        finish();
      }
    }, 10);
    poll.unref();
  }

  #dispatch(events: BusEvent[]): void {
    for (const client of this.#clients) client.dropIfBehind();
    for (const event of events) {
      this.#dispatched = event.position;
      if (!isLiveTopic(event.topic)) continue;
      const dispatched = { event, frame: eventFrame(event) };
      this.#history.push(dispatched);
      if (this.#history.length > this.#options.historySize)
        this.#historyFrom = (this.#history.shift() as Dispatched).event.position;
      for (const client of this.#clients) {
        if (client.pending) client.pending.push(dispatched);
        else client.send(dispatched);
      }
    }
    if (this.#options.historySize === 0) this.#historyFrom = this.#dispatched;
  }

  #deltas(items: TaskDelta[]): void {
    for (const client of this.#clients) {
      if (client.pending || client.dropIfBehind()) continue; // live only: a client still catching up re-reads the stored output
      for (const item of items) {
        if (matches(client.filter, undefined, item))
          client.write(encoder.encode(`event: delta\ndata: ${JSON.stringify(item)}\n\n`));
      }
    }
  }

  /** The hub fell behind retention (the process stalled for hours): start again from now and tell every client to resync. */
  async #restart(): Promise<void> {
    if (this.#live === undefined) return; // gone idle meanwhile: the next client starts afresh
    this.#options.log.warn('the event hub fell behind retention; clients resync');
    this.#history.length = 0;
    const reader = await this.#options.bus.broadcast({
      handler: (events) => this.#dispatch(events),
      onExpired: () => void this.#restart(),
    });
    if (this.#live === undefined) {
      await reader.stop();
      return;
    }
    this.#reader = reader;
    this.#dispatched = this.#reader.position;
    this.#historyFrom = this.#dispatched;
    for (const client of this.#clients) this.#resync(client, 'the server fell behind');
  }
}
