import { createInternalApp, type ServiceApp } from '@llmops/kit/http/app';
import type { ReadinessCheck } from '@llmops/kit/http/health';
import type { Logger } from '@llmops/kit/logger';

export interface RunnerDeps {
  log: Logger;
  internalSecret: string;
  readiness: Record<string, ReadinessCheck>;
}

/** The runner service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: RunnerDeps): ServiceApp {
  return createInternalApp({ service: 'runner', ...deps });
}
