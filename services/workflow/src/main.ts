import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { createApp } from './app.ts';

/** The workflow service's composition root: what it is built from, and what starts and stops with it. */
export function buildWorkflow({ env, log, readiness }: ServiceContext): ServiceParts {
  return { app: createApp({ log, internalSecret: env.LLMOPS_INTERNAL_SECRET, readiness }) };
}

if (import.meta.main) await runMain('workflow', buildWorkflow);
