import { OPENAPI_PATH } from '@llmops/kit/contracts/document';
import { GATEWAY_ROUTES } from '@llmops/kit/contracts/gateway';

/** The interactive reference (Swagger UI) over the public document, which kit builds from the contracts. */
export const DOCS_PATH = '/api/v1/docs';

/** The only routes anyone may call without signing in: health, the document, and the routes the contract marks open. */
const OPEN_PATHS = new Set([
  '/healthz',
  '/readyz',
  OPENAPI_PATH,
  DOCS_PATH,
  ...GATEWAY_ROUTES.filter(({ access }) => access.open).map(({ route }) => route.path),
]);

export function isOpenPath(path: string): boolean {
  return OPEN_PATHS.has(path) || path.startsWith(`${DOCS_PATH}/`);
}
