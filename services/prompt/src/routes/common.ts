import type { Context } from 'hono';
import type { Pool } from '@llmops/kit/db';
import type { AppEnv } from '@llmops/kit/http/app';
import { Unprocessable } from '@llmops/kit/problem';
import type { Renderer } from '../render/render.ts';
import type { Renders } from '../render/renders.ts';
import type { RegistryClient } from '../clients/registry.ts';

/** What the route modules are built from. */
export interface RouteDeps {
  pool: Pool;
  /** Parses and analyzes on the request's thread (cheap, bounded by the parse limit); never renders. */
  renderer: Renderer;
  /** Renders, off the service's event loop (render/pool.ts). */
  renders: Renders;
  /** Checks the template's default model and preset; absent when no registry is configured. */
  registry?: RegistryClient | undefined;
}

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** A 422 naming one body field. */
export function fieldProblem(field: string, message: string): Unprocessable {
  return new Unprocessable(`${field}: ${message}`, [{ field, message }]);
}

export function setEtag(c: Context<AppEnv>, etag: string): void {
  c.header('ETag', etag);
}
