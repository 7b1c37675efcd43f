import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';
import { registryRoutes } from '@llmops/kit/contracts/registry';
import type { RouteDeps } from './routes/common.ts';
import { mountLegacyImport } from './import/legacy-route.ts';
import { mountInternal } from './routes/internal.ts';
import { mountModels } from './routes/models.ts';
import { mountPresets } from './routes/presets.ts';
import { mountProviders } from './routes/providers.ts';

export type RegistryDeps = InternalDeps & RouteDeps;

/** The registry service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: RegistryDeps): ServiceApp {
  const app = createInternalApp({ service: 'registry', routes: registryRoutes, ...deps });
  mountProviders(app, deps);
  mountModels(app, deps);
  mountPresets(app, deps);
  mountInternal(app, deps);
  mountLegacyImport(app, deps);
  return app;
}
