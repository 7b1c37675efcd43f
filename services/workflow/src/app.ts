import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';
import { workflowRoutes } from '@llmops/kit/contracts/workflow';
import { mountLegacyImport } from './import/legacy-route.ts';
import { mountActions } from './routes/actions.ts';
import type { RouteDeps } from './routes/common.ts';
import { mountFields } from './routes/fields.ts';
import { mountPosts } from './routes/posts.ts';
import { mountRuns } from './routes/runs.ts';
import { mountStages } from './routes/stages.ts';
import { mountValues } from './routes/values.ts';

export type WorkflowDeps = InternalDeps & RouteDeps;

/** The workflow service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp(deps: WorkflowDeps): ServiceApp {
  const app = createInternalApp({ service: 'workflow', routes: workflowRoutes, ...deps });
  mountStages(app, deps);
  mountFields(app, deps);
  mountPosts(app, deps);
  mountValues(app, deps);
  mountActions(app, deps);
  mountRuns(app, deps);
  mountLegacyImport(app, deps);
  return app;
}
