import { createInternalApp, type ServiceApp } from '@llmops/kit/http/app';
import type { ReadinessCheck } from '@llmops/kit/http/health';
import type { Logger } from '@llmops/kit/logger';

export interface WorkflowDeps {
  log: Logger;
  internalSecret: string;
  readiness: Record<string, ReadinessCheck>;
}

/** The workflow service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: WorkflowDeps): ServiceApp {
  return createInternalApp({ service: 'workflow', ...deps });
}
