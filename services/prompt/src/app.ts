import { createInternalApp, type InternalDeps, type ServiceApp } from '@llmops/kit/http/app';
import { promptRoutes } from '@llmops/kit/contracts/prompt';
import type { Pool } from '@llmops/kit/db';
import { Renderer } from './render/render.ts';
import { inlineRenders, type Renders } from './render/renders.ts';
import type { RegistryClient } from './clients/registry.ts';
import { mountLegacyImport } from './import/legacy-route.ts';
import { mountLabels } from './routes/labels.ts';
import { mountPartLabels } from './routes/part-labels.ts';
import { mountParts } from './routes/parts.ts';
import { mountRendering } from './routes/rendering.ts';
import { mountTemplates } from './routes/templates.ts';

export interface PromptDeps extends InternalDeps {
  pool: Pool;
  renderer?: Renderer;
  /** The render pool (main.ts); without one, renders run on the calling thread. */
  renders?: Renders;
  registry?: RegistryClient | undefined;
}

/** The prompt service's HTTP app; no side effects, so tests call `createApp(deps).request(...)`. */
export function createApp({
  pool,
  renderer = new Renderer(),
  renders = inlineRenders(renderer),
  registry,
  ...deps
}: PromptDeps): ServiceApp {
  const app = createInternalApp({ service: 'prompt', routes: promptRoutes, ...deps });
  const routeDeps = { pool, renderer, renders, registry };
  mountParts(app, routeDeps);
  mountPartLabels(app, routeDeps);
  mountTemplates(app, routeDeps);
  mountLabels(app, routeDeps);
  mountRendering(app, routeDeps);
  mountLegacyImport(app, routeDeps);
  return app;
}
