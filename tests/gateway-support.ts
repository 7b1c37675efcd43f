/**
 * Shared by the gateway tests: a gateway (with settings of the test's own) in front of the other
 * services on a test database, and accounts and tokens of each role made the operator's way.
 */
import type { PublicRoute } from '@llmops/kit/contracts/index';
import type { Scope } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';
import { runService, type RunningService } from '@llmops/kit/runtime';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import type { TestDatabase } from '@llmops/kit/testing/database';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { gatewayBuilder } from '@llmops/gateway/main';
import { createAccountAsOperator, createTokenAsOperator } from '@llmops/gateway/operator';
import { contractFetch, type ContractFetch } from './contract/openapi.ts';
import { passwordCost } from './browser/environment.ts';

export const PASSWORD = 'correct horse battery staple';

export interface Caller {
  role: Role;
  email: string;
  accountId: string;
  /** `cookie` header value of a signed-in session. */
  cookie: string;
  /** An API token with every scope of the role. */
  token: string;
}

export interface GatewayHarness {
  url: string;
  gateway: RunningService;
  stack: Stack | undefined;
  /** fetch that checks every response against the published OpenAPI document. */
  api: ContractFetch;
  /** A new account of `role`, signed in, with a token of all its role's scopes. */
  caller(role: Role, name?: string): Promise<Caller>;
  token(email: string, role: Role, scopes?: Scope[], expiresAt?: Date): Promise<{ id: string; secret: string }>;
  /** Headers of a cookie-authenticated browser request from the gateway's own origin. */
  browser(caller: Caller): Record<string, string>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startGateway(
  db: TestDatabase,
  {
    services = ['registry', 'prompt', 'runner', 'workflow'],
    env = {},
    routes,
    urls = {},
  }: {
    services?: ServiceName[];
    env?: Record<string, string>;
    routes?: readonly PublicRoute[];
    urls?: Record<string, string>;
  } = {},
): Promise<GatewayHarness> {
  const stack = services.length > 0 ? await startStack({ db, services }) : undefined;
  const secret = stack?.secret ?? `gateway-test-secret-${'x'.repeat(32)}`;
  const gatewayEnv: Record<string, string> = {
    DATABASE_URL: db.urlFor('gateway'),
    LLMOPS_INTERNAL_SECRET: secret,
    LLMOPS_HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.LLMOPS_TEST_LOG_LEVEL ?? 'silent',
    GATEWAY_LAST_USED_FLUSH_MS: '100',
    LLMOPS_BUS_SWEEP_MS: '200',
    ...passwordCost(),
    ...Object.fromEntries(Object.entries(stack?.urls ?? {}).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    ...Object.fromEntries(Object.entries(urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
    ...env,
  };
  const gateway = await runService('gateway', gatewayBuilder(gatewayEnv, routes ? { routes } : {}), { env: gatewayEnv });
  const api = await contractFetch(gateway.url);

  const token = async (email: string, role: Role, scopes?: Scope[], expiresAt?: Date) => {
    const made = await createTokenAsOperator(db.adminUrl, {
      role,
      name: `test token ${++counter}`,
      account: email,
      ...(scopes ? { scopes } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    });
    return { id: made.row.id, secret: made.secret };
  };

  return {
    url: gateway.url,
    gateway,
    stack,
    api,
    token,
    async caller(role, name = `${role} ${++counter}`) {
      const email = `${role}-${++counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
      const account = await createAccountAsOperator(db.adminUrl, { email, name, role, password: PASSWORD });
      const login = await api('/api/v1/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: gateway.url },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      if (login.status !== 200) throw new Error(`login failed: ${login.status} ${await login.text()}`);
      const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
      return { role, email, accountId: account.id, cookie, token: (await token(email, role)).secret };
    },
    browser: (caller) => ({ cookie: caller.cookie, origin: gateway.url }),
    async stop() {
      await gateway.stop('test done');
      await stack?.stop();
    },
  };
}
