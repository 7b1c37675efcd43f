import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdent, quoteLiteral, withCredentials } from './db.ts';
import { SERVICES, groupRole, type ServiceName } from './services.ts';

/**
 * Each service connects as its own login role, a member of the group role that sql/ grants its
 * schema and `bus` to (ADR 0018). Login roles are per deployment (`app` for a normal
 * install, `test` for the test suite) so a test run never changes the password a running install uses.
 */
export const loginRole = (service: ServiceName, deployment: string) => `${groupRole(service)}_${deployment}`;

export type ServicePasswords = Record<ServiceName, string>;

export function generatePasswords(): ServicePasswords {
  return Object.fromEntries(SERVICES.map((service) => [service, randomBytes(24).toString('base64url')])) as ServicePasswords;
}

/**
 * Creates (or updates the password of) every service's login role. Runs as the admin after sql/ is
 * applied, since the group roles come from sql/bus. Roles are cluster-wide; grants are per database.
 */
export async function provisionLogins(adminUrl: string, deployment: string, passwords: ServicePasswords): Promise<void> {
  if (!/^[a-z][a-z0-9_]{0,20}$/.test(deployment)) throw new Error(`invalid deployment name ${JSON.stringify(deployment)}`);
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'llmops-roles' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // Serialize concurrent provisioning (two test workers, two supervisors): CREATE ROLE is not idempotent.
    await client.query('SELECT pg_advisory_lock(7400002)');
    for (const service of SERVICES) {
      const role = loginRole(service, deployment);
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 1;
      const verb = exists ? 'ALTER' : 'CREATE';
      await client.query(
        `${verb} ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${quoteLiteral(passwords[service])}`,
      );
      if (!exists) await client.query(`GRANT ${quoteIdent(groupRole(service))} TO ${quoteIdent(role)}`);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(7400002)').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** The URL a service connects with: the admin URL's host and database, the service's own role. */
export function serviceDatabaseUrl(
  adminUrl: string,
  service: ServiceName,
  deployment: string,
  passwords: ServicePasswords,
): string {
  return withCredentials(adminUrl, loginRole(service, deployment), passwords[service]);
}
