/** The services of the system and their place in the port plan of ADR 0008. */
export const SERVICES = ['gateway', 'registry', 'prompt', 'runner', 'workflow'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Offset from LLMOPS_PORT_BASE: web = base, gateway = +1 ... embedded PostgreSQL = +6. */
export const PORT_OFFSETS = {
  web: 0,
  gateway: 1,
  registry: 2,
  prompt: 3,
  runner: 4,
  workflow: 5,
  postgres: 6,
} as const satisfies Record<ServiceName | 'web' | 'postgres', number>;

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT_BASE = 7400;

/** The PostgreSQL group role that owns the grants of a service's schema (created in sql/). */
export const groupRole = (service: ServiceName) => `llmops_${service}`;

/** `<SERVICE>_URL`, the variable that overrides where a service is reached. */
export const urlVariable = (service: ServiceName | 'web') => `${service.toUpperCase()}_URL`;
