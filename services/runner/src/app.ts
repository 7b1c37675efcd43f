import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';

export type RunnerDeps = InternalDeps;

/** The runner service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: RunnerDeps): ServiceApp {
  return createInternalApp({ service: 'runner', ...deps });
}
