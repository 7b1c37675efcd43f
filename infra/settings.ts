/**
 * Every service's settings, checked with the environment each will be started with before anything
 * starts, so a wrong one stops `npm start` at once with the variable named, not when that service
 * starts seconds later under the shutdown of the rest. The common settings are kit's
 * ServiceEnvSchema; a service's own are parsed by its config.ts. The dashboard has none of its own:
 * the supervisor derives all of them from its own settings, which are already checked.
 */
import { ConfigError, configErrorOf, loadConfig } from '@llmops/kit/config';
import { ServiceEnvSchema } from '@llmops/kit/runtime';
import type { ServiceName } from '@llmops/kit/services';
import { GatewayEnvSchema } from '@llmops/gateway/config';
import { promptConfig } from '@llmops/prompt/config';
import { keyringFrom } from '@llmops/registry/config';
import { runnerConfig } from '@llmops/runner/config';

type Env = Readonly<Record<string, string | undefined>>;

/** What each service parses of its own besides ServiceEnvSchema; each throws a ConfigError. */
const OWN_SETTINGS: Record<ServiceName, ((env: Env) => unknown) | undefined> = {
  gateway: (env) => loadConfig(GatewayEnvSchema, { ...env }),
  registry: keyringFrom,
  prompt: promptConfig,
  runner: runnerConfig,
  workflow: undefined,
};

/** Throws one ConfigError naming every wrong setting of every service (each once), or returns. */
export function assertSettings(envs: ReadonlyArray<readonly [ServiceName, Env]>): void {
  const problems: string[] = [];
  for (const [service, env] of envs) {
    const checks = [(given: Env) => loadConfig(ServiceEnvSchema, { ...given }), OWN_SETTINGS[service]];
    for (const check of checks) {
      try {
        check?.(env);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems);
      }
    }
  }
  if (problems.length > 0) throw configErrorOf(problems);
}
