import { createServiceApp, type ServiceApp } from '@llmops/kit/http/app';
import { mountHealth, type ReadinessCheck } from '@llmops/kit/http/health';
import { requireIdentity } from '@llmops/kit/http/identity';
import type { Logger } from '@llmops/kit/logger';

export interface WorkflowDeps {
  log: Logger;
  /** Verifies the internal identity the gateway and other services send (DESIGN D2). */
  internalSecret: string;
  readiness: Record<string, ReadinessCheck>;
}

/** The workflow service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp({ log, internalSecret, readiness }: WorkflowDeps): ServiceApp {
  const app = createServiceApp({ service: 'workflow', log, guard: requireIdentity(internalSecret, 'workflow') });
  mountHealth(app, 'workflow', readiness);
  return app;
}
