/**
 * What each part of LLM Ops runs, relative to the repository: the supervisor forks these files, the
 * image's compose file and the systemd units run the same ones with `node` (infra/deploy/deploy.test.ts
 * holds them to this list), so a deployment runs exactly what `npm start` and the tests run.
 */
import { SERVICES, type ServiceName } from '@llmops/kit/services';

export type Part = ServiceName | 'web';

/** The entry file of a part: a service's composition root, or the built dashboard server. */
export function partEntry(part: Part): string {
  return part === 'web' ? 'web/build/index.js' : `services/${part}/src/main.ts`;
}

/** The operator CLI (schema runner, login roles, accounts, backup): `node infra/cli.ts <command>`. */
export const CLI_ENTRY = 'infra/cli.ts';

export const PARTS: readonly Part[] = [...SERVICES, 'web'];
