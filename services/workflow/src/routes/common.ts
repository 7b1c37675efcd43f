import type { Pool } from '@llmops/kit/db';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import { Unprocessable, type FieldProblem } from '@llmops/kit/problem';
import type { WorkflowConfig } from '../config.ts';

/** What the route modules are built from. */
export interface RouteDeps {
  pool: Pool;
  config: WorkflowConfig;
  /** The registry: whether an action's model exists, makes text or images, and takes a JSON response format. */
  registry: ServiceClient;
  /** The prompt service: whether an action's template, its pinned version or label, and its variables fit the mapping. */
  prompt: ServiceClient;
}

/** A 422 naming one or more fields. */
export function invalid(...problems: FieldProblem[]): Unprocessable {
  return new Unprocessable(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}

/** `include_retired=true` and the like. */
export const flag = (value: 'true' | 'false' | undefined): boolean => value === 'true';

/** `item` moved to `position` (1-based, clamped) among `ids` (which may or may not hold it already). */
export function moved(ids: readonly string[], item: string, position: number | undefined): string[] {
  const rest = ids.filter((id) => id !== item);
  const at = position === undefined ? rest.length : Math.min(Math.max(position - 1, 0), rest.length);
  return [...rest.slice(0, at), item, ...rest.slice(at)];
}
