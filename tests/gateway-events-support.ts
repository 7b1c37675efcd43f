/**
 * Shared by the event stream tests: a minimal EventSource over fetch, and task events to publish — the
 * stream shows only public topics (the task lifecycle), so the tests publish `runner.task.queued` events
 * numbered by their `priority`.
 */
import { envelope, type Envelope } from '@llmops/kit/bus/index';
import { taskQueued } from '@llmops/kit/events/runner';

/** A task id (a UUID) made of a number, so a test can name its tasks `taskId(101)`. */
export function taskId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** A group id, likewise. */
export function groupId(n: number): string {
  return `00000000-0000-4000-9000-${n.toString(16).padStart(12, '0')}`;
}

export interface QueuedFields {
  task_id?: string;
  group_id?: string | null;
  correlation?: Record<string, unknown> | null;
}

/** A `runner.task.queued` event numbered `n` (its priority), of task `taskId(n)` unless told otherwise. */
export function queued(n: number, fields: QueuedFields = {}): Envelope {
  return envelope(taskQueued, {
    task_id: taskId(n),
    group_id: null,
    correlation: null,
    requester: 'account:test',
    model_id: null,
    provider_id: null,
    attempt: 0,
    at: new Date().toISOString(),
    kind: 'chat',
    priority: n,
    template_id: null,
    template_version: null,
    retry_of: null,
    ...fields,
  });
}

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export interface TestEvent {
  n: number;
  id: string;
  topic: string;
  payload: Record<string, unknown>;
}

/** A minimal EventSource over fetch: messages as they come, comments counted, Last-Event-ID on open. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly #events: TestEvent[] = [];
  comments = 0;
  status = 0;
  lastEventId: string | undefined;
  ended = false;
  readonly #controller = new AbortController();
  readonly #waiters = new Set<() => void>();

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: client.#controller.signal,
    });
    client.status = response.status;
    if (response.body) void client.#read(response.body);
    return client;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { event: 'message', data: '' };
          let isMessage = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              this.comments += 1;
            } else if (line.startsWith('id: ')) {
              message.id = line.slice(4);
              this.lastEventId = message.id;
            } else if (line.startsWith('event: ')) {
              message.event = line.slice(7);
              isMessage = true;
            } else if (line.startsWith('data: ')) {
              message.data += line.slice(6);
              isMessage = true;
            }
          }
          if (isMessage) this.messages.push(message);
          if (message.id && message.event.includes('.')) {
            const data = JSON.parse(message.data) as { payload: Record<string, unknown> };
            this.#events.push({
              n: data.payload.priority as number,
              id: message.id,
              topic: message.event,
              payload: data.payload,
            });
          }
          for (const wake of this.#waiters) wake();
        }
      }
    } catch {
      // aborted or dropped
    } finally {
      this.ended = true;
      for (const wake of this.#waiters) wake();
    }
  }

  /** The durable events of `topic` (`runner.task.queued` unless told), or of every topic with `null`. */
  events(topic: string | null = taskQueued.topic): TestEvent[] {
    return this.#events.filter((event) => topic === null || event.topic === topic);
  }

  /** Waits (bounded) until `condition` holds. */
  async until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.#waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.#waiters.clear();
    }
  }

  /** The `data` of the messages named `event`, parsed. */
  data<T>(event: string): T[] {
    return this.messages.filter((m) => m.event === event).map((m) => JSON.parse(m.data) as T);
  }

  /** Waits for `ready`. */
  ready(): Promise<void> {
    return this.until(() => this.messages.some((m) => m.event === 'ready'), 'ready');
  }

  close(): void {
    this.#controller.abort();
  }
}
