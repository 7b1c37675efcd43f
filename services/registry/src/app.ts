import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';

export type RegistryDeps = InternalDeps;

/** The registry service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: RegistryDeps): ServiceApp {
  return createInternalApp({ service: 'registry', ...deps });
}
