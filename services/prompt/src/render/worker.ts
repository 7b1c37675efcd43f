import { parentPort, workerData } from 'node:worker_threads';
import { OverBudget } from './budget.ts';
import { Renderer, type RenderRequest } from './render.ts';

/**
 * A render worker thread (./pool.ts): renders one request at a time, keeping its parsed templates and
 * tokenizers warm between requests. It writes the step it is on into shared memory, so the pool can
 * name the entry if it has to stop this thread past its deadline.
 */
export interface RenderJob {
  id: number;
  request: RenderRequest;
  budgetMs: number;
}

export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'started'; id: number }
  | { kind: 'done'; id: number; outcome: Awaited<ReturnType<Renderer['render']>> }
  | { kind: 'over'; id: number; step: number; limit: string }
  | { kind: 'failed'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('render/worker.ts runs as a worker thread of the render pool');
const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);
const renderer = new Renderer();
const send = (message: WorkerMessage) => port.postMessage(message);

port.on('message', async ({ id, request, budgetMs }: RenderJob) => {
  try {
    const outcome = await renderer.render(request, {
      ms: budgetMs,
      onStart: () => send({ kind: 'started', id }),
      onStep: (step) => Atomics.store(progress, 0, step),
    });
    send({ kind: 'done', id, outcome });
  } catch (error) {
    if (error instanceof OverBudget) send({ kind: 'over', id, step: error.step, limit: error.limit });
    else send({ kind: 'failed', id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});

// Warm up before taking requests: the engine's code paths compiled by one small render.
const source = { message_index: 0, entry_index: 0, part_id: null, part_name: null, part_version: null };
await renderer.render({
  messages: [{ role: 'user', entries: [{ content: '{% if x %}{{ x | upcase }}{% endif %}', source }] }],
  declared: [],
  mergeAdjacent: false,
  inputs: { x: 'warm' },
});
send({ kind: 'ready' });
