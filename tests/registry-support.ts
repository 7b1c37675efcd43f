import { withClient } from '@llmops/kit/db';
import type { Identity } from '@llmops/kit/http/identity';
import type { Stack } from '@llmops/kit/testing/stack';
import type { TestDatabase } from '@llmops/kit/testing/database';

export const admin: Identity = { kind: 'account', subject: 'admin-1', role: 'admin', scopes: [], requestId: 'test' };
export const editor: Identity = { kind: 'account', subject: 'editor-1', role: 'editor', scopes: [], requestId: 'test' };
export const viewer: Identity = { kind: 'account', subject: 'viewer-1', role: 'viewer', scopes: [], requestId: 'test' };
export const runner: Identity = { kind: 'service', subject: 'runner', requestId: 'test' };
export const promptService: Identity = { kind: 'service', subject: 'prompt', requestId: 'test' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Answer {
  status: number;
  headers: Headers;
  body: Json;
  text: string;
}

/** Calls the registry directly as `as` (admin unless given), as the gateway would. */
export function registryApi(stack: Stack) {
  return async function api(
    method: string,
    path: string,
    body?: unknown,
    options: { as?: Identity; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const response = await stack.call(
      'registry',
      path.startsWith('/internal') ? path : `/api/v1${path}`,
      { method, headers: options.headers ?? {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
      options.as ?? admin,
    );
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null, text };
  };
}

export async function outbox(db: TestDatabase, topic?: string): Promise<{ topic: string; payload: Json }[]> {
  return withClient(db.adminUrl, async (client) => {
    const { rows } = await client.query<{ topic: string; payload: Json }>(
      'SELECT topic, payload FROM bus.outbox WHERE $1::text IS NULL OR topic = $1 ORDER BY id',
      [topic ?? null],
    );
    return rows;
  });
}

export async function count(db: TestDatabase, table: string): Promise<number> {
  return withClient(db.adminUrl, async (client) => Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n));
}
