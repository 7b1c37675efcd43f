import { configOrExit } from '@llmops/kit/config';
import { createServiceClient } from '@llmops/kit/http/service-client';
import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { createApp } from './app.ts';
import { workflowConfig } from './config.ts';
import { consumeTaskResults } from './consumers/task-results.ts';

/** The workflow service's composition root: what it is built from, and what starts and stops with it. */
export function buildWorkflow({ env, rawEnv, log, pool, bus, urls, readiness, metrics }: ServiceContext): ServiceParts {
  const config = workflowConfig(rawEnv);
  const runner = createServiceClient({
    caller: 'workflow',
    service: 'runner',
    url: urls.runner,
    secret: env.LLMOPS_INTERNAL_SECRET,
  });
  const registry = createServiceClient({
    caller: 'workflow',
    service: 'registry',
    url: urls.registry,
    secret: env.LLMOPS_INTERNAL_SECRET,
  });
  const prompt = createServiceClient({
    caller: 'workflow',
    service: 'prompt',
    url: urls.prompt,
    secret: env.LLMOPS_INTERNAL_SECRET,
  });
  const app = createApp({ log, internalSecret: env.LLMOPS_INTERNAL_SECRET, readiness, metrics, pool, config, registry, prompt });
  let results: ReturnType<typeof consumeTaskResults> | undefined;
  return {
    app,
    start: async () => {
      results = consumeTaskResults(bus, { pool, runner });
    },
    stop: async () => {
      await results?.stop();
    },
  };
}

if (import.meta.main) {
  configOrExit(() => workflowConfig(process.env));
  await runMain('workflow', buildWorkflow);
}
