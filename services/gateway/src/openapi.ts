import { OPENAPI_PATH } from '@llmops/kit/contracts/document';

/** The interactive reference (Swagger UI) over the public document, which kit builds from the contracts. */
export const DOCS_PATH = '/api/v1/docs';

/** The only routes anyone may call without signing in (issue 6). */
const OPEN_PATHS = new Set(['/healthz', '/readyz', OPENAPI_PATH, DOCS_PATH, '/api/v1/setup', '/api/v1/login', '/api/v1/logout']);

export function isOpenPath(path: string): boolean {
  return OPEN_PATHS.has(path) || path.startsWith(`${DOCS_PATH}/`);
}
