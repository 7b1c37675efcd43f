import { error, fail, redirect, type ActionFailure, type RequestEvent } from '@sveltejs/kit';
import type { ApiClient } from '../api/client.ts';
import { loginPathFor } from '../next-path.ts';
import { showProblem, type ShownProblem } from '../problem.ts';
import { gatewayClient } from './gateway.ts';
import { errorFields, log } from './log.ts';

/** What an openapi-fetch call resolves to. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

const UNREACHABLE =
  'The dashboard could not reach the LLM Ops gateway. It may be restarting: reload in a moment. If it keeps happening, ' +
  'check that it runs (`npm start` starts every part).';

/** The call's answer, or undefined when the gateway could not be reached (logged). */
async function ask<T>(event: RequestEvent, call: (api: ApiClient) => Promise<Answer<T>>): Promise<Answer<T> | undefined> {
  try {
    return await call(gatewayClient(event));
  } catch (caught) {
    log.warn({ ...errorFields(caught), path: event.url.pathname }, 'gateway unreachable');
    return undefined;
  }
}

/**
 * The one load helper: the call's data, or the page's error with the problem's own words (its `detail`).
 * Not signed in (any more): to /login and back here afterwards. Unreachable gateway: a 503 page, never
 * a sign-out.
 */
export async function load<T>(event: RequestEvent, call: (api: ApiClient) => Promise<Answer<T>>): Promise<T> {
  const answer = await ask(event, call);
  if (!answer) error(503, UNREACHABLE);
  if (answer.response.ok && answer.data !== undefined) return answer.data;
  const status = answer.response.status;
  if (status === 401) redirect(303, loginPathFor(event.url));
  const shown = showProblem(answer.error, `The gateway answered ${status}.`);
  error(status >= 400 && status <= 599 ? status : 502, shown.detail);
}

/** What a form action gives the page when the API refused: the problem, and the values to show again (never secrets). */
export interface Refusal {
  problem: ShownProblem;
  values: Record<string, string>;
}

export type Submitted<T> = { ok: true; data: T | undefined; response: Response } | ActionFailure<Refusal>;

/**
 * The one form-action helper: sends the call, and on a refusal returns `fail(status, { problem, values })`
 * for the form to show beside its fields. `values` are what the reader typed, to fill in again: leave
 * passwords out.
 */
export async function submit<T>(
  event: RequestEvent,
  call: (api: ApiClient) => Promise<Answer<T>>,
  values: Record<string, string> = {},
): Promise<Submitted<T>> {
  const answer = await ask(event, call);
  if (!answer) return fail(503, { problem: { detail: UNREACHABLE, fields: {} }, values });
  if (answer.response.ok) return { ok: true, data: answer.data, response: answer.response };
  const status = answer.response.status;
  if (status === 401 && !event.url.pathname.startsWith('/login')) redirect(303, loginPathFor(event.url));
  return fail(status, { problem: showProblem(answer.error, `The gateway refused this (${status}).`), values });
}

/** A form's fields as text (files and repeated names aside: `all` reads those). */
export async function formText(event: RequestEvent): Promise<{ get: (name: string) => string; all: (name: string) => string[] }> {
  const data = await event.request.formData();
  return {
    get: (name) => {
      const value = data.get(name);
      return typeof value === 'string' ? value : '';
    },
    all: (name) => data.getAll(name).filter((value): value is string => typeof value === 'string'),
  };
}
