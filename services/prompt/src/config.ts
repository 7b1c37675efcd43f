import { z } from 'zod';
import { loadConfig, millis } from '@llmops/kit/config';
import { ENGINE_LIMITS } from './render/engine.ts';

const count = (min: number, max: number) =>
  z.coerce.number({ message: 'expected a whole number' }).int('expected a whole number').min(min).max(max);

/**
 * The prompt service's own settings, on top of every service's (kit/runtime): how renders run
 * (docs/prompts.md, Limits). Renders run in a pool of worker threads, so no render holds up the
 * service's other requests; each request has one time budget, each worker a memory limit, and each
 * caller a bound on how many of its renders run and wait at once.
 */
export const PromptEnvSchema = z.object({
  /** Worker threads that render; each keeps its parsed templates and tokenizers warm. */
  PROMPT_RENDER_WORKERS: count(1, 64).default(2),
  /** A render request's whole time budget, every entry and the token count together. */
  PROMPT_RENDER_DEADLINE_MS: millis().default(ENGINE_LIMITS.renderBudgetMs),
  /**
   * The old-generation heap of one render worker (`resourceLimits`); a worker over it is replaced. A
   * backstop above what the engine's memory budget lets a render allocate (tokenizers ~180 MB, a render
   * at most ~200 MB): Node may end the whole process instead of the worker for some allocations.
   */
  PROMPT_RENDER_MEMORY_MB: count(256, 16_384).default(512),
  /** Renders one caller (an account, or a service such as the runner) runs at once. */
  PROMPT_RENDER_PER_CALLER: count(1, 64).default(1),
  /** Renders one caller may have waiting beyond those; one more is a 429 with Retry-After. */
  PROMPT_RENDER_QUEUE: count(0, 10_000).default(32),
});

export interface PromptConfig {
  workers: number;
  deadlineMs: number;
  memoryMb: number;
  perCaller: number;
  queuePerCaller: number;
}

export function promptConfig(rawEnv: Readonly<Record<string, string | undefined>>): PromptConfig {
  const env = loadConfig(PromptEnvSchema, { ...rawEnv });
  return {
    workers: env.PROMPT_RENDER_WORKERS,
    deadlineMs: env.PROMPT_RENDER_DEADLINE_MS,
    memoryMb: env.PROMPT_RENDER_MEMORY_MB,
    perCaller: env.PROMPT_RENDER_PER_CALLER,
    queuePerCaller: env.PROMPT_RENDER_QUEUE,
  };
}
