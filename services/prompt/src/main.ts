import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { createApp } from './app.ts';
import { createRegistryClient } from './registry.ts';

/** The prompt service's composition root: what it is built from, and what starts and stops with it. */
export function buildPrompt({ env, log, pool, readiness, urls }: ServiceContext): ServiceParts {
  const registry = createRegistryClient({ url: urls.registry, secret: env.LLMOPS_INTERNAL_SECRET });
  return { app: createApp({ log, pool, internalSecret: env.LLMOPS_INTERNAL_SECRET, readiness, registry }) };
}

if (import.meta.main) await runMain('prompt', buildPrompt);
