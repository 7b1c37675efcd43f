import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';

export type WorkflowDeps = InternalDeps;

/** The workflow service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: WorkflowDeps): ServiceApp {
  return createInternalApp({ service: 'workflow', routes: [], ...deps });
}
