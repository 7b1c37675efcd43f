import type { ApiClient, Schemas } from '../api/client.ts';
import type { SystemStatus } from '../status.ts';
import { errorFields, log } from './log.ts';

function isReadiness(body: unknown): body is Schemas['Readiness'] {
  return typeof body === 'object' && body !== null && 'checks' in body && typeof body.checks === 'object';
}

/** Network error codes in words, for the ones an operator meets when the gateway is not there. */
const CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
};

/** Why a fetch failed, in words an operator can act on: "connection refused (ECONNREFUSED)". */
function reasonOf(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'it did not answer in time';
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  if (cause?.code) return `${CODES[cause.code] ?? 'connection failed'} (${cause.code})`;
  return error instanceof Error ? error.message : String(error);
}

/** Asks the gateway's /readyz (at its root, not under /api). 200 and 503 both carry the checks. */
export async function readSystemStatus(api: ApiClient): Promise<SystemStatus> {
  const checkedAt = new Date().toISOString();
  try {
    const { data, error, response } = await api.GET('/readyz');
    const body: unknown = data ?? error;
    if (!isReadiness(body)) return { kind: 'unexpected', httpStatus: response.status, checkedAt };
    const checks = Object.entries(body.checks).map(([name, result]) => ({
      name,
      ok: result.ok,
      ...(result.detail ? { detail: result.detail } : {}),
    }));
    return { kind: 'answered', ready: body.status === 'ready', checks, checkedAt };
  } catch (error) {
    log.warn({ ...errorFields(error), cause: reasonOf(error) }, 'gateway readiness could not be read');
    return { kind: 'unreachable', reason: reasonOf(error), checkedAt };
  }
}
