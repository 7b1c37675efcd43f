import { createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import { SCOPES, type Scope } from '../http/access.ts';
import { ROLES, type Role } from '../http/identity.ts';
import { LIVE_TOPICS, topicsMatching } from '../events/live.ts';
import { body, errors, IdParamSchema, PageQuerySchema, pageOf, json } from './common.ts';
import { LiveEventSchema } from './live.ts';

/**
 * The gateway's own public routes (ADR 0005): first-run setup, sign-in, the session, accounts, API
 * tokens, the audit log, live events and the bus's dead letters. The gateway implements them; the
 * proxied routes of the other services are in their own files (./index.ts).
 */

/** Who may call a gateway route: nobody needs to be signed in (`open`), or a role and a token scope. */
export type GatewayAccess = { open: true } | { open?: false; role: Role; scope: Scope | 'any' };

export interface GatewayRoute {
  /** `operationId` names the operation in the public document and the generated clients: unique, stable. */
  route: RouteConfig & { operationId: string };
  access: GatewayAccess;
}

const timestamp = (description: string) =>
  z.iso.datetime({ offset: true }).openapi({ description, example: '2025-01-31T09:30:00.000Z' });

const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'expected at most 254 characters')
  .regex(/^[^@\s]+@[^@\s]+$/, 'expected an email address such as editor@example.com')
  .openapi({ example: 'editor@example.com' });
const personName = z
  .string()
  .trim()
  .min(1, 'expected a name')
  .max(200, 'expected at most 200 characters')
  .openapi({ example: 'Ada' });
const password = z
  .string()
  .min(12, 'expected at least 12 characters')
  .max(256, 'expected at most 256 characters')
  .openapi({ format: 'password', example: 'correct horse battery staple' });

export const RoleSchema = z.enum(ROLES).openapi('Role', {
  description: 'admin: everything, including providers, keys and accounts; editor: prompts, tasks, workflow; viewer: read only.',
});
export const ScopeSchema = z.enum(SCOPES).openapi('Scope', {
  description: '`<area>:read` / `<area>:write`; `admin` allows everything the account may do.',
});

export const AccountSchema = z
  .object({
    id: z.uuid(),
    email: z.string().openapi({ example: 'editor@example.com' }),
    name: z.string(),
    role: RoleSchema,
    kind: z.enum(['human', 'automation']).openapi({
      description:
        'A person, or the account `npm run llmops -- token create` makes for scripts; only people count toward the last admin who must stay',
    }),
    disabled: z.boolean(),
    created_at: timestamp('When the account was created'),
    updated_at: timestamp('When the account last changed (its ETag derives from it)'),
  })
  .openapi('Account');

export const SignedInSchema = z
  .object({ account: AccountSchema, expires_at: timestamp('When the session cookie stops working') })
  .openapi('SignedIn');

export const SessionSchema = z
  .object({
    account: AccountSchema,
    via: z.enum(['session', 'token']).openapi({ description: 'How this request was authenticated' }),
    scopes: z.array(ScopeSchema).openapi({ description: 'What this credential may do (a session: everything the role may)' }),
    expires_at: timestamp('When this session or token stops working').nullable(),
  })
  .openapi('Session');

export const SetupStatusSchema = z
  .object({
    setup_needed: z.boolean().openapi({ description: 'True while no account exists' }),
    code_valid: z.boolean().openapi({ description: 'True when the given code can still be used' }),
  })
  .openapi('SetupStatus');

export const SetupBodySchema = z
  .object({
    code: z.string().min(1, 'expected the code of the setup link').max(200),
    name: personName,
    email,
    password,
  })
  .strict()
  .openapi('SetupRequest');

export const LoginBodySchema = z
  .object({ email: z.string().max(254).openapi({ example: 'editor@example.com' }), password: z.string().max(256) })
  .strict()
  .openapi('LoginRequest');

export const PasswordChangeSchema = z
  .object({
    current_password: z.string().min(1, 'expected your current password').max(256, 'expected at most 256 characters'),
    new_password: password,
  })
  .strict()
  .openapi('PasswordChange');

export const AccountCreateSchema = z
  .object({ email, name: personName, role: RoleSchema, password })
  .strict()
  .openapi('AccountCreate');

export const AccountUpdateSchema = z
  .object({
    name: personName.optional(),
    role: RoleSchema.optional(),
    disabled: z
      .boolean()
      .optional()
      .openapi({ description: 'A disabled account cannot sign in; its sessions and tokens stop working' }),
    password: password.optional(),
  })
  .strict()
  .openapi('AccountUpdate');

export const TokenSchema = z
  .object({
    id: z.uuid(),
    account_id: z.uuid(),
    name: z.string(),
    prefix: z
      .string()
      .openapi({ description: 'The first characters of the token, to tell tokens apart', example: 'llmops_Xy3k' }),
    scopes: z.array(ScopeSchema),
    expires_at: timestamp('When the token stops working; null: never').nullable(),
    last_used_at: timestamp('Last use (written in batches, up to a minute late)').nullable(),
    revoked_at: timestamp('When the token was revoked').nullable(),
    created_at: timestamp('When the token was created'),
    updated_at: timestamp('When the token last changed'),
  })
  .openapi('Token');

export const TokenCreateSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, 'expected a name')
      .max(200, 'expected at most 200 characters')
      .openapi({ example: 'publishing script' }),
    scopes: z.array(ScopeSchema).min(1, 'expected at least one scope').max(SCOPES.length),
    expires_at: timestamp('Optional: when the token stops working (in the future)').optional(),
  })
  .strict()
  .openapi('TokenCreate');

export const CreatedTokenSchema = z
  .object({
    token: TokenSchema,
    secret: z
      .string()
      .openapi({ description: 'The token itself. Shown this once; only its hash is stored.', example: 'llmops_…' }),
  })
  .openapi('CreatedToken');

export const TokenListQuerySchema = PageQuerySchema.extend({
  account_id: z
    .uuid({ message: 'expected a UUID' })
    .optional()
    .openapi({ description: 'Admins: the tokens of this account (default: your own)' }),
});

export const AuditEntrySchema = z
  .object({
    event_id: z.uuid(),
    at: timestamp('When the change happened'),
    actor: z.object({ kind: z.enum(['account', 'service']), id: z.string() }),
    action: z.string().openapi({ example: 'provider.created' }),
    service: z.string().openapi({ example: 'registry' }),
    resource: z.object({ type: z.string(), id: z.string() }),
    before: z.unknown().nullable().openapi({ description: 'The configuration before (never secrets)' }),
    after: z.unknown().nullable().openapi({ description: 'The configuration after (never secrets)' }),
    request_id: z.string().nullable(),
  })
  .openapi('AuditEntry');

const filterText = (description: string) => z.string().min(1).max(200).optional().openapi({ description });

export const AuditQuerySchema = PageQuerySchema.extend({
  actor_id: filterText('Only changes by this account id or service name'),
  action: filterText('Only this action, e.g. `provider.created`'),
  service: filterText('Only changes recorded by this service'),
  resource_type: filterText('Only this kind of resource, e.g. `provider`'),
  resource_id: filterText('Only this resource (with resource_type)'),
  since: z.iso
    .datetime({ offset: true, message: 'expected an RFC 3339 timestamp' })
    .optional()
    .openapi({ description: 'At or after' }),
  until: z.iso
    .datetime({ offset: true, message: 'expected an RFC 3339 timestamp' })
    .optional()
    .openapi({ description: 'Before' }),
});

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** A query parameter that may be given more than once (`?task_id=a&task_id=b`): one value or several, as a list. */
const repeatable = (item: z.ZodString, max: number, description: string) =>
  z
    .preprocess(
      (value) => (typeof value === 'string' ? [value] : value),
      z.array(item).max(max, `expected at most ${max} values`),
    )
    .optional()
    .openapi({ description });

const topicFilter = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (topic) => topicsMatching(topic).length > 0,
    `expected a topic the event stream shows, or a prefix of one: ${LIVE_TOPICS.join(', ')}`,
  );

export const EventsQuerySchema = z.object({
  task_id: repeatable(
    z.string().min(1).max(200),
    100,
    'Only events and deltas whose payload has this `task_id`; repeat it for any of several tasks',
  ),
  group_id: repeatable(
    z.string().min(1).max(200),
    100,
    'Only events and deltas whose payload has this `group_id`; repeat it for any of several groups',
  ),
  correlation: z
    .string()
    .max(4_096) // a task's correlation is at most 4 KiB of JSON (TASK_LIMITS in ./runner.ts)
    .refine(isJsonObject, 'expected a JSON object, e.g. {"post_id":"…"}')
    .optional()
    .openapi({
      description:
        'A JSON object: only events and deltas whose `correlation` object has each of its keys with an equal value ' +
        '(other keys may be there too), e.g. `{"post_id":"…"}` for everything about one post.',
      example: '{"post_id":"0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b"}',
    }),
  topic: repeatable(
    topicFilter,
    50,
    'Only events of these topics: each a topic or a prefix of some, e.g. `runner.task.` or `runner.task.succeeded`; ' +
      'repeat it for several',
  ),
  deltas: z
    .enum(['none', 'matching'])
    .default('matching')
    .openapi({
      description:
        '`matching` (the default): `delta` events of the tasks the filter selects (its task and group ids and ' +
        'correlation, when its topics include task events); `none`: no deltas',
    }),
  last_event_id: z
    .string()
    .optional()
    .openapi({
      description:
        'Resume after this position, as the `Last-Event-ID` header does (which wins when both are given): for a client ' +
        'that opens a new stream itself, e.g. with another filter, since a browser sends the header only on its own reconnects',
    }),
});

export const DeadLetterSchema = z
  .object({
    group: z.string(),
    event_id: z.uuid(),
    topic: z.string(),
    key: z.string(),
    position: z.string(),
    payload: z.unknown(),
    created_at: timestamp('When the event was published'),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    parked_at: timestamp('When the event was parked'),
    waiting: z.number().int().openapi({ description: 'Later events of the key waiting behind this one' }),
  })
  .openapi('DeadLetter');

const DeadLetterParamsSchema = z.object({
  group: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[a-z0-9_.:-]+$/, 'expected a consumer group name')
    .openapi({ param: { name: 'group', in: 'path' }, example: 'runner.provider-cache' }),
  event_id: z.uuid({ message: 'expected a UUID' }).openapi({ param: { name: 'event_id', in: 'path' } }),
});

const etag = { ETag: { description: 'The version; send it back as If-Match', schema: { type: 'string' as const } } };

export const setupStatusRoute = createRoute({
  method: 'get',
  path: '/api/v1/setup',
  operationId: 'getSetupStatus',
  tags: ['Accounts'],
  summary: 'Whether first-run setup is needed, and whether a setup code can be used',
  request: { query: z.object({ code: z.string().max(200).optional() }) },
  responses: { 200: json(SetupStatusSchema, 'Setup status'), ...errors(400) },
});

export const setupRoute = createRoute({
  method: 'post',
  path: '/api/v1/setup',
  operationId: 'completeSetup',
  tags: ['Accounts'],
  summary: 'Create the first admin with the code of the setup link',
  description:
    'Only while no account exists, and only with the one-time code that `npm start` prints (single use, expiring). ' +
    'Signs the new admin in (sets the session cookie).',
  request: { body: body(SetupBodySchema) },
  responses: {
    201: json(SignedInSchema, 'The first admin, signed in'),
    ...errors(400, 403, 409, 413, 415, 422, 429),
  },
});

export const loginRoute = createRoute({
  method: 'post',
  path: '/api/v1/login',
  operationId: 'login',
  tags: ['Accounts'],
  summary: 'Sign in with email and password',
  description:
    'Sets the httpOnly, SameSite=Lax session cookie. Failed attempts are rate-limited per email and per client address.',
  request: { body: body(LoginBodySchema) },
  responses: { 200: json(SignedInSchema, 'Signed in'), ...errors(400, 401, 403, 413, 415, 422, 429) },
});

export const logoutRoute = createRoute({
  method: 'post',
  path: '/api/v1/logout',
  operationId: 'logout',
  tags: ['Accounts'],
  summary: 'Sign out: ends the session and clears its cookie',
  responses: { 204: { description: 'Signed out (also when there was no session)' }, ...errors(403) },
});

export const sessionRoute = createRoute({
  method: 'get',
  path: '/api/v1/session',
  operationId: 'getSession',
  tags: ['Accounts'],
  summary: 'Who is calling: the account and how it is authenticated',
  responses: { 200: json(SessionSchema, 'The caller'), ...errors(401) },
});

export const changePasswordRoute = createRoute({
  method: 'post',
  path: '/api/v1/session/password',
  operationId: 'changeOwnPassword',
  tags: ['Accounts'],
  summary: 'Change your own password',
  description:
    'From a signed-in session only (not with an API token), with your current password. Ends every other session of ' +
    'your account and keeps this one; your API tokens keep working. A wrong current password is a 422 on ' +
    '`body.current_password` and counts as a failed sign-in (rate-limited like one).',
  request: { body: body(PasswordChangeSchema) },
  responses: { 204: { description: 'Changed; this session stays signed in' }, ...errors(400, 401, 403, 413, 415, 422, 429) },
});

export const listAccountsRoute = createRoute({
  method: 'get',
  path: '/api/v1/accounts',
  operationId: 'listAccounts',
  tags: ['Accounts'],
  summary: 'List accounts',
  request: { query: PageQuerySchema },
  responses: { 200: json(pageOf(AccountSchema, 'AccountPage'), 'A page of accounts, oldest first'), ...errors(400, 401, 403) },
});

export const createAccountRoute = createRoute({
  method: 'post',
  path: '/api/v1/accounts',
  operationId: 'createAccount',
  tags: ['Accounts'],
  summary: 'Create an account',
  request: { body: body(AccountCreateSchema) },
  responses: {
    201: { ...json(AccountSchema, 'The new account'), headers: etag },
    ...errors(400, 401, 403, 409, 413, 415, 422),
  },
});

export const getAccountRoute = createRoute({
  method: 'get',
  path: '/api/v1/accounts/{id}',
  operationId: 'getAccount',
  tags: ['Accounts'],
  summary: 'One account',
  request: { params: IdParamSchema },
  responses: { 200: { ...json(AccountSchema, 'The account'), headers: etag }, ...errors(400, 401, 403, 404) },
});

export const AccountNameSchema = z
  .object({ id: z.uuid(), name: z.string(), kind: z.enum(['human', 'automation']) })
  .openapi('AccountName', { description: 'Who an account is, as shown beside what it did: no email, role or state.' });

export const AccountNamesQuerySchema = z.object({
  id: z
    .preprocess(
      (value) => (typeof value === 'string' ? [value] : value),
      z.array(z.uuid()).min(1, 'expected at least one id').max(100, 'expected at most 100 ids'),
    )
    .openapi({ description: 'The accounts to name; repeat it for several (`?id=a&id=b`), at most 100' }),
});

export const accountNamesRoute = createRoute({
  method: 'get',
  path: '/api/v1/account-names',
  operationId: 'accountNames',
  tags: ['Accounts'],
  summary: 'The names of accounts, for showing who made a change',
  description:
    'Any signed-in account may read these, so a revision or a conflict can say who made it; ids that name no account are left out.',
  request: { query: AccountNamesQuerySchema },
  responses: {
    200: json(z.object({ items: z.array(AccountNameSchema) }).openapi('AccountNames'), 'The accounts found'),
    ...errors(400, 401, 403),
  },
});

export const updateAccountRoute = createRoute({
  method: 'patch',
  path: '/api/v1/accounts/{id}',
  operationId: 'updateAccount',
  tags: ['Accounts'],
  summary: 'Change an account: name, role, password, disabled',
  description:
    'Honours If-Match (412 when someone else changed it). A role change or disabling ends its sessions and tokens at once.',
  request: { params: IdParamSchema, body: body(AccountUpdateSchema) },
  responses: {
    200: { ...json(AccountSchema, 'The changed account'), headers: etag },
    ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422),
  },
});

export const listTokensRoute = createRoute({
  method: 'get',
  path: '/api/v1/tokens',
  operationId: 'listTokens',
  tags: ['Tokens'],
  summary: 'List API tokens (your own; admins may name an account)',
  request: { query: TokenListQuerySchema },
  responses: { 200: json(pageOf(TokenSchema, 'TokenPage'), 'A page of tokens, oldest first'), ...errors(400, 401, 403) },
});

export const createTokenRoute = createRoute({
  method: 'post',
  path: '/api/v1/tokens',
  operationId: 'createToken',
  tags: ['Tokens'],
  summary: 'Create an API token for yourself',
  description:
    'The token is returned once, in `secret`; send it as `Authorization: Bearer <secret>`. Its scopes cannot exceed your role ' +
    '(viewers: only `:read` scopes; editors: everything but `registry:write` and `admin`).',
  request: { body: body(TokenCreateSchema) },
  responses: { 201: json(CreatedTokenSchema, 'The new token and its secret'), ...errors(400, 401, 403, 413, 415, 422) },
});

export const revokeTokenRoute = createRoute({
  method: 'delete',
  path: '/api/v1/tokens/{id}',
  operationId: 'revokeToken',
  tags: ['Tokens'],
  summary: 'Revoke an API token (yours; admins: anyone’s)',
  description: 'Takes effect at once on every gateway instance.',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Revoked (also when it already was)' }, ...errors(400, 401, 403, 404) },
});

export const listAuditRoute = createRoute({
  method: 'get',
  path: '/api/v1/audit',
  operationId: 'listAuditEntries',
  tags: ['Audit'],
  summary: 'The audit log: every change, newest first',
  description: 'Who changed what and when, with the configuration before and after (never secrets).',
  request: { query: AuditQuerySchema },
  responses: {
    200: json(pageOf(AuditEntrySchema, 'AuditPage'), 'A page of audit entries, newest first'),
    ...errors(400, 401, 403),
  },
});

export const eventsRoute = createRoute({
  method: 'get',
  path: '/api/v1/events',
  operationId: 'streamEvents',
  tags: ['Events'],
  summary: 'Live events (server-sent events), resumable with Last-Event-ID',
  description:
    'Durable events carry `id:` = the bus position; reconnect with `Last-Event-ID` to get every event you missed. ' +
    'A `Last-Event-ID` older than the retention window, ahead of every event (the database was restored) or not a ' +
    'position at all gets a `resync` event, never an error (EventSource cannot read one): refetch what you show. ' +
    '`delta` events (streaming output) are live only. A comment line is sent as a heartbeat. Only public topics are ' +
    'streamed: the task lifecycle (`runner.task.*`, never `runner.task.requested`, whose inputs may hold private text). ' +
    'Filters combine with AND; the values of a repeated one with OR.',
  request: {
    query: EventsQuerySchema,
    headers: z.object({
      // No length limit: a malformed id gets `resync` like any other, not a 400 that EventSource cannot read.
      'last-event-id': z.string().optional().openapi({ description: 'The `id` of the last event you received' }),
    }),
  },
  responses: {
    200: {
      description: 'An event stream: each message one `LiveEvent` (its `event`, `id` and `data`)',
      content: {
        'text/event-stream': {
          schema: LiveEventSchema,
          example: 'id: 12345-67\nevent: runner.task.succeeded\ndata: {"id":"…","topic":"runner.task.succeeded",…}\n\n',
        },
      },
    },
    ...errors(400, 401, 403, 429),
  },
});

export const listDeadLettersRoute = createRoute({
  method: 'get',
  path: '/api/v1/dead-letters',
  operationId: 'listDeadLetters',
  tags: ['Operations'],
  summary: 'Events the bus gave up on (dead letters), oldest first',
  request: {
    query: PageQuerySchema.extend({
      group: z.string().min(1).max(200).optional().openapi({ description: 'Only this consumer group' }),
    }),
  },
  responses: { 200: json(pageOf(DeadLetterSchema, 'DeadLetterPage'), 'A page of dead letters'), ...errors(400, 401, 403) },
});

export const replayDeadLetterRoute = createRoute({
  method: 'post',
  path: '/api/v1/dead-letters/{group}/{event_id}/replay',
  operationId: 'replayDeadLetter',
  tags: ['Operations'],
  summary: 'Run a dead letter again, with a fresh budget of attempts',
  request: { params: DeadLetterParamsSchema },
  responses: { 204: { description: 'Scheduled to run again' }, ...errors(400, 401, 403, 404) },
});

export const skipDeadLetterRoute = createRoute({
  method: 'post',
  path: '/api/v1/dead-letters/{group}/{event_id}/skip',
  operationId: 'skipDeadLetter',
  tags: ['Operations'],
  summary: 'Drop a dead letter for its group; the events of its key flow again',
  request: { params: DeadLetterParamsSchema },
  responses: { 204: { description: 'Skipped' }, ...errors(400, 401, 403, 404) },
});

/** Every route the gateway implements itself, with who may call it. */
export const GATEWAY_ROUTES: readonly GatewayRoute[] = [
  { route: setupStatusRoute, access: { open: true } },
  { route: setupRoute, access: { open: true } },
  { route: loginRoute, access: { open: true } },
  { route: logoutRoute, access: { open: true } },
  { route: sessionRoute, access: { role: 'viewer', scope: 'any' } },
  { route: changePasswordRoute, access: { role: 'viewer', scope: 'any' } },
  { route: listAccountsRoute, access: { role: 'admin', scope: 'admin' } },
  { route: createAccountRoute, access: { role: 'admin', scope: 'admin' } },
  { route: getAccountRoute, access: { role: 'admin', scope: 'admin' } },
  { route: accountNamesRoute, access: { role: 'viewer', scope: 'any' } },
  { route: updateAccountRoute, access: { role: 'admin', scope: 'admin' } },
  { route: listTokensRoute, access: { role: 'viewer', scope: 'admin' } },
  { route: createTokenRoute, access: { role: 'viewer', scope: 'admin' } },
  { route: revokeTokenRoute, access: { role: 'viewer', scope: 'admin' } },
  { route: listAuditRoute, access: { role: 'admin', scope: 'admin' } },
  { route: eventsRoute, access: { role: 'viewer', scope: 'tasks:read' } },
  { route: listDeadLettersRoute, access: { role: 'admin', scope: 'admin' } },
  { route: replayDeadLetterRoute, access: { role: 'admin', scope: 'admin' } },
  { route: skipDeadLetterRoute, access: { role: 'admin', scope: 'admin' } },
];
