import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';
import { runnerRoutes } from '@llmops/kit/contracts/runner';
import { mountLegacyImport } from './import/legacy-route.ts';
import { mountTaskReads } from './routes/reads.ts';
import { mountTaskWrites, type WriteDeps } from './routes/writes.ts';

export type RunnerDeps = InternalDeps & WriteDeps;

/** The runner service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: RunnerDeps): ServiceApp {
  const app = createInternalApp({ service: 'runner', routes: runnerRoutes, ...deps });
  mountTaskReads(app, deps);
  mountTaskWrites(app, deps);
  mountLegacyImport(app, deps);
  return app;
}
