import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';

export type PromptDeps = InternalDeps;

/** The prompt service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: PromptDeps): ServiceApp {
  return createInternalApp({ service: 'prompt', ...deps });
}
