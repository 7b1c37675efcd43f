import { configOrExit } from '@llmops/kit/config';
import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { createApp } from './app.ts';
import { promptConfig } from './config.ts';
import { createRegistryClient } from './clients/registry.ts';
import { RenderPool } from './render/pool.ts';

/** The prompt service's composition root: what it is built from, and what starts and stops with it. */
export function buildPrompt({ env, rawEnv, log, pool, readiness, urls, metrics }: ServiceContext): ServiceParts {
  const config = promptConfig(rawEnv);
  const registry = createRegistryClient({ url: urls.registry, secret: env.LLMOPS_INTERNAL_SECRET });
  const renders = new RenderPool(config, log);
  readiness.renders = async () => {
    const status = renders.status();
    if (status.ready > 0) return { ok: true };
    return { ok: false, detail: status.broken ?? 'no render worker has warmed up yet' };
  };
  return {
    app: createApp({ log, pool, internalSecret: env.LLMOPS_INTERNAL_SECRET, readiness, metrics, registry, renders }),
    start: () => renders.start(),
    stop: () => renders.stop(),
  };
}

if (import.meta.main) {
  configOrExit(() => promptConfig(process.env));
  await runMain('prompt', buildPrompt);
}
