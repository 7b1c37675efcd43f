import { problemResponse } from './problem.ts';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * SvelteKit's cross-site request check (a write a form of another site could send: no content type or a
 * form one, from another origin), made here so that the refusal of an /api request is problem+json like
 * every other answer there (vite.config.ts turns SvelteKit's own off). JSON writes from other sites need a
 * CORS preflight no one answers, and the gateway checks the origin of cookie writes again.
 */
export function crossSiteRefusal(request: Request, selfOrigin: string, api: boolean): Response | undefined {
  if (!WRITES.has(request.method)) return undefined;
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type && !FORM_TYPES.includes(type)) return undefined;
  const origin = request.headers.get('origin');
  if (origin === selfOrigin) return undefined;
  const detail = `Cross-site ${request.method} form submissions are forbidden: send it from the dashboard itself (${selfOrigin}).`;
  if (api) return problemResponse(403, 'forbidden', 'Forbidden', detail);
  return new Response(detail, { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}
