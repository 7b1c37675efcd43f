import { configOrExit } from '@llmops/kit/config';
import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { adapterFor } from '@llmops/kit/adapters/index';
import { createApp } from './app.ts';
import { keyringFrom } from './config.ts';
import { consumeModelUse } from './consumers/model-usage.ts';

/** The registry service's composition root: what it is built from, and what starts and stops with it. */
export function buildRegistry({ env, rawEnv, log, pool, bus, readiness, metrics }: ServiceContext): ServiceParts {
  const keyring = keyringFrom(rawEnv);
  const app = createApp({ log, internalSecret: env.LLMOPS_INTERNAL_SECRET, readiness, metrics, pool, keyring, adapterFor });
  let usage: ReturnType<typeof consumeModelUse> | undefined;
  return {
    app,
    start: async () => {
      usage = consumeModelUse(bus, pool);
    },
    stop: async () => {
      await usage?.stop();
    },
  };
}

if (import.meta.main) {
  // Without a keyring the registry cannot start: say so plainly, with how to make one, before anything else.
  configOrExit(() => keyringFrom(process.env));
  await runMain('registry', buildRegistry);
}
