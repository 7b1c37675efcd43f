import { createInternalApp, type ServiceApp } from '@llmops/kit/http/app';
import type { ReadinessCheck } from '@llmops/kit/http/health';
import type { Logger } from '@llmops/kit/logger';

export interface RegistryDeps {
  log: Logger;
  internalSecret: string;
  readiness: Record<string, ReadinessCheck>;
}

/** The registry service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: RegistryDeps): ServiceApp {
  return createInternalApp({ service: 'registry', ...deps });
}
