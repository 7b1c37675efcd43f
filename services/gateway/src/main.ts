import { runMain, type ServiceContext, type ServiceParts } from '@llmops/kit/runtime';
import { createApp } from './app.ts';

/** The gateway's composition root. */
export function buildGateway({ log, readiness }: ServiceContext): ServiceParts {
  return { app: createApp({ log, readiness }) };
}

if (import.meta.main) await runMain('gateway', buildGateway);
