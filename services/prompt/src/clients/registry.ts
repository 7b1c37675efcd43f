import { IDENTITY_HEADER, signIdentity } from '@llmops/kit/http/identity';
import { createUpstream, type UpstreamFetch } from '@llmops/kit/http/upstream';
import { ServiceUnavailable, Unprocessable, type FieldProblem } from '@llmops/kit/problem';

/** Checks a template's default model and preset through the registry's API (ADR 0018: no cross-schema reads). */
export interface RegistryClient {
  checkDefaults(
    requestId: string,
    settings: { default_model_id: string | null; default_preset_id: string | null },
  ): Promise<void>;
}

export interface RegistryClientOptions {
  /** The registry's base URL (`ctx.urls.registry`). */
  url: string;
  /** LLMOPS_INTERNAL_SECRET: the prompt service signs its own identity for the registry. */
  secret: string;
  timeoutMs?: number;
  /** Kit's upstream fetch by default: keep-alive within the registry's idle time, one retry of a read. */
  fetch?: UpstreamFetch;
}

const CHECKS = [
  { field: 'default_model_id', path: 'models', what: 'model' },
  { field: 'default_preset_id', path: 'presets', what: 'parameter preset' },
] as const;

/**
 * Asks the registry (`GET /api/v1/models/{id}`, `/presets/{id}`) as the prompt service. An id the
 * registry does not know, or one that is archived or disabled, is a 422 naming the field; a registry
 * that does not answer is a 503 (nothing is saved on a guess).
 */
export function createRegistryClient({
  url,
  secret,
  timeoutMs = 5_000,
  fetch = createUpstream().fetch,
}: RegistryClientOptions): RegistryClient {
  return {
    async checkDefaults(requestId, settings) {
      const problems: FieldProblem[] = [];
      for (const check of CHECKS) {
        const id = settings[check.field];
        if (id === null) continue;
        let response: Response;
        try {
          response = await fetch(`${url}/api/v1/${check.path}/${id}`, {
            headers: {
              [IDENTITY_HEADER]: await signIdentity(secret, { kind: 'service', subject: 'prompt', requestId }, 'registry'),
              'x-request-id': requestId,
            },
            signal: AbortSignal.timeout(timeoutMs),
          });
        } catch (error) {
          throw new ServiceUnavailable(
            `Could not check the ${check.what} with the registry (${(error as Error).message}); try again shortly.`,
            5,
          );
        }
        if (response.status === 404) {
          await response.body?.cancel();
          problems.push({ field: `body.${check.field}`, message: `no ${check.what} ${id} in the registry` });
          continue;
        }
        if (!response.ok) {
          await response.body?.cancel();
          throw new ServiceUnavailable(
            `The registry answered ${response.status} when asked about ${check.what} ${id}; try again shortly.`,
            5,
          );
        }
        const body = (await response.json()) as { enabled?: boolean; archived_at?: string | null };
        if (body.archived_at) problems.push({ field: `body.${check.field}`, message: `${check.what} ${id} is archived` });
        else if (body.enabled === false)
          problems.push({ field: `body.${check.field}`, message: `${check.what} ${id} is disabled` });
      }
      if (problems.length > 0) throw new Unprocessable(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
    },
  };
}
