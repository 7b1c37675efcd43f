import type { EphemeralStreams } from '@llmops/kit/bus/index';
import { TASK_DELTAS_CHANNEL, type TaskDelta } from '@llmops/kit/events/runner';

/** Text per delta item: even escaped, with the item's other fields it stays under one NOTIFY payload (8,000 bytes). */
const MAX_ITEM_CHARS = 1_000;

interface Stream {
  base: Omit<TaskDelta, 'seq' | 'text'>;
  seq: number;
  pending: string;
}

/**
 * Streaming output of this process's running tasks (ADR 0009): text is gathered per task and handed to
 * the bus's ephemeral stream once per tick, which sends every task's items in one NOTIFY per tick. Never
 * stored: the durable output is the attempt's response text.
 */
export class DeltaStreams {
  readonly #ephemeral: EphemeralStreams;
  readonly #tickMs: number;
  readonly #streams = new Map<string, Stream>();
  #timer: NodeJS.Timeout | undefined;

  constructor(ephemeral: EphemeralStreams, tickMs: number) {
    this.#ephemeral = ephemeral;
    this.#tickMs = tickMs;
  }

  /** Starts the stream of one attempt; its items carry seq from 0. */
  open(key: string, base: Stream['base']): void {
    this.#streams.set(key, { base, seq: 0, pending: '' });
  }

  push(key: string, text: string): void {
    const stream = this.#streams.get(key);
    if (!stream || text === '') return;
    stream.pending += text;
    this.#timer ??= setTimeout(() => this.flush(), this.#tickMs);
  }

  /** Sends what an attempt still holds and forgets it. */
  close(key: string): void {
    const stream = this.#streams.get(key);
    if (stream) this.#send(stream);
    this.#streams.delete(key);
  }

  flush(): void {
    this.#timer = undefined;
    for (const stream of this.#streams.values()) this.#send(stream);
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
    this.#streams.clear();
  }

  #send(stream: Stream): void {
    while (stream.pending !== '') {
      const text = stream.pending.slice(0, MAX_ITEM_CHARS);
      stream.pending = stream.pending.slice(text.length);
      try {
        this.#ephemeral.publish(TASK_DELTAS_CHANNEL, { ...stream.base, seq: stream.seq++, text });
      } catch {
        // The bus is stopping: deltas are best effort; the output is stored with the attempt.
        stream.pending = '';
      }
    }
  }
}
