import type { Identity } from '@llmops/kit/http/identity';
import type { Stack } from '@llmops/kit/testing/stack';

export const admin: Identity = { kind: 'account', subject: 'admin-1', role: 'admin', scopes: [], requestId: 'test' };
export const editor: Identity = { kind: 'account', subject: 'editor-1', role: 'editor', scopes: [], requestId: 'test' };
export const otherEditor: Identity = { kind: 'account', subject: 'editor-2', role: 'editor', scopes: [], requestId: 'test' };
export const viewer: Identity = { kind: 'account', subject: 'viewer-1', role: 'viewer', scopes: [], requestId: 'test' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Answer {
  status: number;
  headers: Headers;
  body: Json;
  text: string;
}

/** Calls the workflow service directly as `as` (an editor unless given), as the gateway would. */
export function workflowApi(stack: Stack) {
  return async function api(
    method: string,
    path: string,
    body?: unknown,
    options: { as?: Identity; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const response = await stack.call(
      'workflow',
      `/api/v1/workflow${path}`,
      { method, headers: options.headers ?? {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
      options.as ?? editor,
    );
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null, text };
  };
}
