import { createServiceApp, type ServiceApp } from '@llmops/kit/http/app';
import { mountHealth, type ReadinessCheck } from '@llmops/kit/http/health';
import { requireIdentity } from '@llmops/kit/http/identity';
import type { Logger } from '@llmops/kit/logger';

export interface RegistryDeps {
  log: Logger;
  /** Verifies the internal identity the gateway and other services send (DESIGN D2). */
  internalSecret: string;
  readiness: Record<string, ReadinessCheck>;
}

/** The registry service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp({ log, internalSecret, readiness }: RegistryDeps): ServiceApp {
  const app = createServiceApp({ service: 'registry', log, guard: requireIdentity(internalSecret, 'registry') });
  mountHealth(app, 'registry', readiness);
  return app;
}
