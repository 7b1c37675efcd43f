import { configOrExit } from '@llmops/kit/config';
import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { createApp } from './app.ts';
import { workflowConfig } from './config.ts';

/** The workflow service's composition root: what it is built from, and what starts and stops with it. */
export function buildWorkflow({ env, rawEnv, log, pool, readiness }: ServiceContext): ServiceParts {
  const config = workflowConfig(rawEnv);
  return { app: createApp({ log, internalSecret: env.LLMOPS_INTERNAL_SECRET, readiness, pool, config }) };
}

if (import.meta.main) {
  configOrExit(() => workflowConfig(process.env));
  await runMain('workflow', buildWorkflow);
}
