/** The problem-type base the services use (services/kit/src/problem.ts), so clients see one vocabulary. */
const PROBLEM_TYPE_BASE = 'https://llmops.dev/problems/';

/** An RFC 9457 problem+json response, the one error shape of the system (ADR 0013). */
export function problemResponse(status: number, slug: string, title: string, detail: string): Response {
  const body = { type: PROBLEM_TYPE_BASE + slug, title, status, detail };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
  });
}
