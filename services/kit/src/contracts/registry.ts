import { createRoute, z } from '@hono/zod-openapi';
import type { PublicRoute } from './index.ts';
import {
  body,
  errors,
  IdParamSchema,
  pageOf,
  PageQuerySchema,
  json,
  IdempotencyHeaders,
  IfMatchHeaders,
  sortQuery,
} from './common.ts';
import { PROVIDER_ERROR_KINDS } from '../adapters/errors.ts';
import { DEFAULT_RETRY_POLICY } from '../adapters/parameters.ts';
import { ModelRulesSchema } from '../adapters/rules.ts';
import { PROVIDER_KINDS } from '../adapters/types.ts';
import { USD_PATTERN } from '../money.ts';
import { ModelSnapshotSchema, PresetSnapshotSchema, ProviderSnapshotSchema } from '../events/registry.ts';

/**
 * The registry's contract (docs/providers.md): providers (API keys write-only, shown as a hint), models
 * with price history, parameter presets with fallback models. Roles: viewers read; editors manage
 * models and presets (and discover/import a provider's models); providers and their keys are admin only.
 */

const TAG_PROVIDERS = ['Providers'];
const TAG_MODELS = ['Models'];
const TAG_PRESETS = ['Parameter presets'];

const Timestamp = z.string().openapi({ format: 'date-time', example: '2025-06-01T09:30:00.000Z' });
const Uuid = z.uuid({ message: 'expected a UUID' });
const Name = z.string().trim().min(1, 'expected a non-empty name').max(100, 'expected at most 100 characters');
const Money = z.string().regex(USD_PATTERN, 'expected USD as a decimal string with 12 places').openapi({
  description: 'USD as a decimal string with exactly 12 places (docs/tasks.md#money)',
  example: '2.500000000000',
});

/**
 * A non-negative decimal amount with at most six places, as a JSON number or a decimal string. A number
 * is read as the decimal it prints as (`5e-7` has seven places): the columns are numeric(14, 6), which would
 * round a seventh place silently, so more places are refused whichever way they come.
 */
const Amount = z
  .union([z.number(), z.string()])
  .transform((value) => (typeof value === 'number' ? String(value) : value.trim()))
  .pipe(
    z
      .string()
      .regex(/^-?\d{1,8}(\.\d{1,6})?$/, 'expected a decimal number below 100,000,000 with at most 6 places, such as "2.50"'),
  )
  .refine((value) => !value.startsWith('-'), 'must not be negative')
  .openapi({
    type: 'string',
    description: 'USD, a decimal string or a number with at most 6 decimal places, not negative',
    example: '2.50',
  });

export const ProviderKindSchema = z.enum(PROVIDER_KINDS).openapi('ProviderKind');

/** Why a base URL cannot be stored, or undefined. Credentials in it would be shown to every viewer, events and the audit log. */
function baseUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an http:// or https:// URL, such as https://api.openai.com/v1';
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '')
    return 'expected an http:// or https:// URL, such as https://api.openai.com/v1';
  if (url.username || url.password || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value))
    return 'a base URL carries no credentials (user:password@): put the key in api_key, where it is stored encrypted and never shown';
  if (value.includes('?') || value.includes('#'))
    return 'a base URL takes no query string or fragment (the SDK adds the path after it, and ?key=… would be shown to every viewer): put the key in api_key, where it is stored encrypted and never shown';
  return undefined;
}

const BaseUrl = z
  .string()
  .max(500, 'expected at most 500 characters')
  .superRefine((value, ctx) => {
    const problem = baseUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({
    format: 'uri',
    example: 'https://api.openai.com/v1',
    description: 'http:// or https://, with no credentials, query string or fragment: the key goes in `api_key`.',
  });

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const AUTH_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'proxy-authorization', 'cookie']);
const ExtraHeaders = z
  .record(
    z.string(),
    z
      .string()
      .max(1000, 'expected at most 1,000 characters')
      .regex(/^[^\r\n]*$/, 'expected one line')
      .openapi({ example: 'editorial-team' }),
  )
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 20) ctx.addIssue({ code: 'custom', message: 'expected at most 20 headers' });
    for (const name of names) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'not a valid header name' });
      else if (AUTH_HEADERS.has(name.toLowerCase()))
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'credentials go in api_key, where they are encrypted; not in headers',
        });
    }
  })
  .openapi({
    description: 'Extra request headers (not secret: shown in responses).',
    example: { 'HTTP-Referer': 'https://blog.example' },
  });

const ApiKey = z
  .string()
  .min(1, 'expected a non-empty key')
  .max(1000, 'expected at most 1,000 characters')
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')
  .openapi({
    description: 'Write-only: stored encrypted, never returned (responses show `api_key_hint`).',
    writeOnly: true,
    example: 'sk-your-provider-key',
  });

const TimeoutMs = z
  .number()
  .int('expected whole milliseconds')
  .min(1000, 'expected at least 1000 ms')
  .max(600_000, 'expected at most 600000 ms');
const PositiveLimit = (max: number) =>
  z.number().int('expected a whole number').min(1, 'expected at least 1').max(max, `expected at most ${max}`);

export const MAX_TOKENS_FIELDS = ['max_tokens', 'max_completion_tokens'] as const;
const MaxTokensField = z.enum(MAX_TOKENS_FIELDS).openapi('MaxTokensField');
const MaxTokensFieldInput = MaxTokensField.nullable()
  .optional()
  .openapi({
    description:
      'OpenAI kind only: which body field carries the output cap. `max_completion_tokens` for api.openai.com; ' +
      '`max_tokens` for servers that read only that one (llama.cpp before early 2026, Ollama’s /v1, ' +
      'llama-cpp-python, vLLM’s older releases). Null: the kind’s default.',
  });

export const ProviderSchema = z
  .object({
    id: Uuid,
    name: z.string(),
    kind: ProviderKindSchema,
    base_url: z.string(),
    has_api_key: z.boolean(),
    api_key_hint: z.string().nullable().openapi({ description: 'The last 4 characters of the key, e.g. `…f3a9`.' }),
    organization: z.string().nullable(),
    project: z.string().nullable(),
    extra_headers: z.record(z.string(), z.string()),
    timeout_ms: z.number().int(),
    max_concurrency: z.number().int().nullable(),
    rpm_limit: z.number().int().nullable(),
    monthly_spend_cap_usd: Money.nullable(),
    max_tokens_field: MaxTokensField.nullable().openapi({
      description:
        "The body field of the output cap for OpenAI-compatible servers; null: the kind's default (docs/providers.md).",
    }),
    enabled: z.boolean(),
    last_used_at: Timestamp.nullable(),
    archived_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Provider');

export const ProviderCreateSchema = z
  .object({
    name: Name,
    kind: ProviderKindSchema,
    base_url: BaseUrl.optional().openapi({
      description: "Defaults to the kind's public endpoint. No credentials, query string or fragment: the key goes in `api_key`.",
    }),
    api_key: ApiKey.optional(),
    organization: z.string().min(1).max(200).nullable().optional().openapi({ description: 'OpenAI only.' }),
    project: z.string().min(1).max(200).nullable().optional().openapi({ description: 'OpenAI only.' }),
    extra_headers: ExtraHeaders.optional(),
    timeout_ms: TimeoutMs.optional().openapi({ description: 'First-byte and idle-stream timeout (default 60000).' }),
    max_concurrency: PositiveLimit(10_000).nullable().optional(),
    rpm_limit: PositiveLimit(1_000_000).nullable().optional(),
    monthly_spend_cap_usd: Amount.nullable().optional(),
    max_tokens_field: MaxTokensFieldInput,
    enabled: z.boolean().optional(),
  })
  .strict()
  .openapi('ProviderCreate');

export const ProviderUpdateSchema = z
  .object({
    name: Name.optional(),
    base_url: BaseUrl.optional(),
    api_key: z.union([ApiKey, z.null()]).optional().openapi({ description: 'A new key, or null to remove it.' }),
    organization: z.string().min(1).max(200).nullable().optional(),
    project: z.string().min(1).max(200).nullable().optional(),
    extra_headers: ExtraHeaders.optional(),
    timeout_ms: TimeoutMs.optional(),
    max_concurrency: PositiveLimit(10_000).nullable().optional(),
    rpm_limit: PositiveLimit(1_000_000).nullable().optional(),
    monthly_spend_cap_usd: Amount.nullable().optional(),
    max_tokens_field: MaxTokensFieldInput,
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('ProviderUpdate');

/** The orders the providers list offers (`sort`): by name, kind, or when it was registered. */
export const PROVIDER_SORT_KEYS = ['name', 'kind', 'created_at'] as const;

export const ProviderListQuerySchema = PageQuerySchema.extend({
  sort: sortQuery(PROVIDER_SORT_KEYS, 'created_at'),
  include_archived: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'Archived providers too (default false: pickers never show them).' }),
});

export const ProviderErrorSchema = z
  .object({
    kind: z.enum(PROVIDER_ERROR_KINDS),
    retryable: z.boolean(),
    message: z.string(),
    status: z.number().int().nullable(),
    retry_after_ms: z.number().int().nullable(),
    provider_code: z.string().nullable(),
  })
  .openapi('ProviderError');

export const ConnectionTestSchema = z
  .object({
    ok: z.boolean(),
    latency_ms: z.number().int(),
    models_available: z.number().int().nullable().openapi({ description: 'How many models the probe listed.' }),
    error: z.union([ProviderErrorSchema, z.null()]),
    tested_at: Timestamp,
  })
  .openapi('ConnectionTest');

export const ModalitySchema = z.enum(['chat', 'image']).openapi('ModelModality');

export const RemoteModelSchema = z
  .object({
    provider_model_id: z.string(),
    display_name: z.string().nullable(),
    created_at: Timestamp.nullable(),
    modality: ModalitySchema.openapi({
      description:
        '`image` for image generation models (OpenAI-compatible lists do not say; recognized by id: `dall-e-3`, `gpt-image-1`, `…-image-…`). An import takes it as the model’s modality unless told otherwise.',
    }),
    context_window: z.number().int().nullable(),
    max_output_tokens: z.number().int().nullable(),
    imported_model_id: Uuid.nullable().openapi({ description: 'Our model id when it is already imported.' }),
  })
  .openapi('RemoteModel');

const CapabilitiesSchema = z
  .object({
    streaming: z.boolean(),
    json_output: z.boolean(),
    vision: z.boolean(),
    tools: z.boolean(),
  })
  .openapi('ModelCapabilities');

export const PriceSchema = z
  .object({
    input_per_mtok: Money,
    output_per_mtok: Money,
    cached_input_per_mtok: Money.nullable(),
    per_image: Money.nullable(),
    effective_from: Timestamp,
  })
  .openapi('ModelPrice');

export const PriceInputSchema = z
  .object({
    input_per_mtok: Amount,
    output_per_mtok: Amount,
    cached_input_per_mtok: Amount.nullable().optional(),
    per_image: Amount.nullable().optional(),
    effective_from: z.iso
      .datetime({ offset: true, message: 'expected an RFC 3339 timestamp' })
      .optional()
      .openapi({ description: 'When the price starts to apply (default now; never in the past).' }),
  })
  .strict()
  .openapi('ModelPriceInput');

export const ModelSchema = z
  .object({
    id: Uuid,
    provider_id: Uuid,
    provider_kind: ProviderKindSchema,
    provider_model_id: z.string(),
    display_name: z.string(),
    modality: ModalitySchema,
    context_window: z.number().int().nullable(),
    max_output_tokens: z.number().int().nullable(),
    capabilities: CapabilitiesSchema,
    rules: ModelRulesSchema.openapi({
      description: 'What the model takes (docs/model-rules.md): copied from its family when created or imported, editable.',
    }),
    rules_family: z.string().nullable().openapi({
      description:
        "The model family its rules were copied from; null once they were edited, or when no family matched (the kind's default).",
    }),
    price: z.union([PriceSchema, z.null()]).openapi({ description: 'The price in force now.' }),
    prices: z.array(PriceSchema).openapi({ description: 'Every price, newest effective_from first (future ones included).' }),
    enabled: z.boolean(),
    last_used_at: Timestamp.nullable(),
    archived_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Model');

const TokenCount = z
  .number()
  .int('expected a whole number')
  .min(1, 'expected at least 1')
  .max(10_000_000, 'expected at most 10000000');
const CapabilitiesInput = CapabilitiesSchema.partial().strict();

const ModelFields = {
  display_name: Name.optional().openapi({ description: "Defaults to the provider's model id." }),
  modality: ModalitySchema.optional(),
  context_window: TokenCount.nullable().optional(),
  max_output_tokens: TokenCount.nullable().optional(),
  capabilities: CapabilitiesInput.optional(),
  rules: ModelRulesSchema.optional().openapi({
    description: "Default: the rules of the model's family, else the kind's default.",
  }),
  price: PriceInputSchema.optional(),
  enabled: z.boolean().optional(),
};

const ProviderModelId = z.string().trim().min(1, 'expected the provider’s model id').max(200, 'expected at most 200 characters');

export const ModelCreateSchema = z
  .object({ provider_id: Uuid, provider_model_id: ProviderModelId, ...ModelFields })
  .strict()
  .openapi('ModelCreate');

export const ModelUpdateSchema = z
  .object({
    display_name: Name.optional(),
    context_window: TokenCount.nullable().optional(),
    max_output_tokens: TokenCount.nullable().optional(),
    capabilities: CapabilitiesInput.optional(),
    rules: ModelRulesSchema.optional().openapi({
      description: 'Replaces the rules as a whole (checked against what the kind’s protocol has); `rules_family` becomes null.',
    }),
    price: PriceInputSchema.optional().openapi({ description: 'A new price from its effective_from; earlier prices stay.' }),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('ModelUpdate');

export const ModelImportSchema = z
  .object({
    models: z
      .array(z.object({ provider_model_id: ProviderModelId, ...ModelFields }).strict())
      .min(1, 'expected at least one model')
      .max(200, 'expected at most 200 models'),
    force: z
      .boolean()
      .optional()
      .openapi({
        description:
          'Import models the provider does not list (a fine-tune, a deployment its listing omits) without asking it. ' +
          'Without it, every model must be in the provider’s list (`remote-models`), else a 422 names it.',
      }),
  })
  .strict()
  .openapi('ModelImport');

/**
 * The orders the models list offers (`sort`): display name, provider name, the price in force per million
 * input or output tokens (models with no price come last in both directions), or when it was added.
 */
export const MODEL_SORT_KEYS = ['name', 'provider', 'input_price', 'output_price', 'created_at'] as const;

export const ModelListQuerySchema = PageQuerySchema.extend({
  sort: sortQuery(MODEL_SORT_KEYS, 'created_at'),
  provider_id: Uuid.optional(),
  modality: ModalitySchema.optional(),
  enabled: z.enum(['true', 'false']).optional(),
  include_archived: z.enum(['true', 'false']).optional().openapi({ description: 'Archived models too (default false).' }),
});

// ---- presets ----

const ResponseFormatSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text') }).strict(),
    z.object({ type: z.literal('json_object') }).strict(),
    z
      .object({
        type: z.literal('json_schema'),
        name: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1–64 letters, digits, _ or -')
          .openapi({ example: 'article_outline' }),
        schema: z.record(z.string(), z.unknown()).openapi({ type: 'object', description: 'A JSON Schema object.' }),
        strict: z.boolean().optional(),
      })
      .strict(),
  ])
  .openapi('ResponseFormat');

export const PresetParametersSchema = z
  .object({
    temperature: z.number().min(0, 'expected 0 to 2').max(2, 'expected 0 to 2').optional(),
    top_p: z.number().min(0, 'expected 0 to 1').max(1, 'expected 0 to 1').optional(),
    top_k: z.number().int('expected a whole number').min(1, 'expected at least 1').max(1000, 'expected at most 1000').optional(),
    max_output_tokens: TokenCount.optional(),
    stop: z
      .array(z.string().min(1, 'expected a non-empty stop sequence').max(200, 'expected at most 200 characters'))
      .max(16, 'expected at most 16 stop sequences')
      .optional(),
    seed: z
      .number()
      .int('expected a whole number')
      .min(-(2 ** 53) + 1)
      .max(2 ** 53 - 1)
      .optional(),
    presence_penalty: z.number().min(-2, 'expected -2 to 2').max(2, 'expected -2 to 2').optional(),
    frequency_penalty: z.number().min(-2, 'expected -2 to 2').max(2, 'expected -2 to 2').optional(),
    response_format: ResponseFormatSchema.optional(),
    reasoning_effort: z
      .enum(['none', 'minimal', 'low', 'medium', 'high'])
      .optional()
      .openapi({ description: "Reasoning models that take it: how hard the model thinks (the model's rules say which values)." }),
    first_byte_timeout_ms: TimeoutMs.optional().openapi({ description: "Overrides the provider's timeout for the first byte." }),
    idle_timeout_ms: TimeoutMs.optional().openapi({ description: "Overrides the provider's timeout between stream chunks." }),
  })
  .strict()
  .openapi('PresetParameters');

export const RetryPolicySchema = z
  .object({
    max_attempts: z
      .number()
      .int()
      .min(1, 'expected 1 to 10')
      .max(10, 'expected 1 to 10')
      .default(DEFAULT_RETRY_POLICY.max_attempts),
    initial_backoff_ms: z
      .number()
      .int()
      .min(100, 'expected 100 to 600000')
      .max(600_000, 'expected 100 to 600000')
      .default(DEFAULT_RETRY_POLICY.initial_backoff_ms),
    max_backoff_ms: z
      .number()
      .int()
      .min(100, 'expected 100 to 3600000')
      .max(3_600_000, 'expected 100 to 3600000')
      .default(DEFAULT_RETRY_POLICY.max_backoff_ms),
    backoff_multiplier: z
      .number()
      .min(1, 'expected 1 to 10')
      .max(10, 'expected 1 to 10')
      .default(DEFAULT_RETRY_POLICY.backoff_multiplier),
  })
  .strict()
  .refine((value) => value.max_backoff_ms >= value.initial_backoff_ms, {
    message: 'expected max_backoff_ms ≥ initial_backoff_ms',
    path: ['max_backoff_ms'],
  })
  .openapi('RetryPolicy');

export const PresetSchema = z
  .object({
    id: Uuid,
    name: z.string(),
    description: z.string(),
    model_id: Uuid.nullable(),
    parameters: PresetParametersSchema,
    retry_policy: RetryPolicySchema,
    fallback_model_ids: z.array(Uuid).openapi({ description: 'Tried in order when the model fails for good.' }),
    enabled: z.boolean(),
    archived_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('ParameterPreset');

const FallbackIds = z.array(Uuid).max(10, 'expected at most 10 fallback models');

export const PresetCreateSchema = z
  .object({
    name: Name,
    description: z.string().max(2000, 'expected at most 2,000 characters').optional(),
    model_id: Uuid.nullable().optional(),
    parameters: PresetParametersSchema.optional(),
    retry_policy: RetryPolicySchema.optional(),
    fallback_model_ids: FallbackIds.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .openapi('ParameterPresetCreate');

export const PresetUpdateSchema = z
  .object({
    name: Name.optional(),
    description: z.string().max(2000, 'expected at most 2,000 characters').optional(),
    model_id: Uuid.nullable().optional(),
    parameters: PresetParametersSchema.optional().openapi({ description: 'Replaces the parameters as a whole.' }),
    retry_policy: RetryPolicySchema.optional(),
    fallback_model_ids: FallbackIds.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('ParameterPresetUpdate');

/** The orders the presets list offers (`sort`): name, its model's display name (none last), or when it was made. */
export const PRESET_SORT_KEYS = ['name', 'model', 'created_at'] as const;

export const PresetListQuerySchema = PageQuerySchema.extend({
  sort: sortQuery(PRESET_SORT_KEYS, 'created_at'),
  model_id: Uuid.optional(),
  include_archived: z.enum(['true', 'false']).optional(),
});

// ---- routes ----

const DeletedOrArchived = {
  200: json(
    z.object({ archived: z.literal(true), archived_at: Timestamp }).openapi('Archived'),
    'Archived instead of deleted: tasks have used it (or, for presets, always), so history keeps resolving it',
  ),
  204: { description: 'Deleted' },
};

export const listProviders = createRoute({
  method: 'get',
  path: '/api/v1/providers',
  operationId: 'listProviders',
  tags: TAG_PROVIDERS,
  summary: 'List LLM providers',
  request: { query: ProviderListQuerySchema },
  responses: { 200: json(pageOf(ProviderSchema, 'ProviderPage'), 'A page of providers'), ...errors(400, 401, 403) },
});

export const createProvider = createRoute({
  method: 'post',
  path: '/api/v1/providers',
  operationId: 'createProvider',
  tags: TAG_PROVIDERS,
  summary: 'Register a provider (admin)',
  description: 'The API key is encrypted at rest and never returned; `api_key_hint` shows its last 4 characters.',
  request: { headers: IdempotencyHeaders, body: body(ProviderCreateSchema) },
  responses: { 201: json(ProviderSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const getProvider = createRoute({
  method: 'get',
  path: '/api/v1/providers/{id}',
  operationId: 'getProvider',
  tags: TAG_PROVIDERS,
  summary: 'Read a provider (archived ones too)',
  request: { params: IdParamSchema },
  responses: { 200: json(ProviderSchema, 'The provider'), ...errors(400, 401, 403, 404) },
});

export const updateProvider = createRoute({
  method: 'patch',
  path: '/api/v1/providers/{id}',
  operationId: 'updateProvider',
  tags: TAG_PROVIDERS,
  summary: 'Change a provider, enable or disable it, set or remove its key (admin)',
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(ProviderUpdateSchema) },
  responses: { 200: json(ProviderSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const deleteProvider = createRoute({
  method: 'delete',
  path: '/api/v1/providers/{id}',
  operationId: 'deleteProvider',
  tags: TAG_PROVIDERS,
  summary: 'Delete a provider, or archive it when tasks have used it or its models (admin)',
  description: 'Archiving removes the key and archives its models. A provider whose models a preset uses is a 409.',
  request: { params: IdParamSchema, headers: IfMatchHeaders },
  responses: { ...DeletedOrArchived, ...errors(400, 401, 403, 404, 409, 412) },
});

export const testProvider = createRoute({
  method: 'post',
  path: '/api/v1/providers/{id}/test',
  operationId: 'testProvider',
  tags: TAG_PROVIDERS,
  summary: 'Test the connection: an authenticated model-list probe that generates nothing (admin)',
  request: { params: IdParamSchema },
  responses: {
    200: json(ConnectionTestSchema, 'The outcome: ok, or the provider’s own error'),
    ...errors(400, 401, 403, 404, 409),
  },
});

export const listRemoteModels = createRoute({
  method: 'get',
  path: '/api/v1/providers/{id}/remote-models',
  operationId: 'listRemoteModels',
  tags: TAG_PROVIDERS,
  summary: 'List the models the provider offers, to pick from',
  request: { params: IdParamSchema },
  responses: {
    200: json(z.object({ items: z.array(RemoteModelSchema) }).openapi('RemoteModelList'), 'What the provider offers'),
    502: {
      description: 'The provider answered with an error (its kind and message in `detail`)',
      content: { 'application/problem+json': { schema: z.object({}).passthrough() } },
    },
    ...errors(400, 401, 403, 404, 409),
  },
});

export const importModels = createRoute({
  method: 'post',
  path: '/api/v1/providers/{id}/models/import',
  operationId: 'importModels',
  tags: TAG_PROVIDERS,
  summary: 'Import selected models of the provider in one call',
  description:
    'The provider is asked for its list first: a model it does not list is a 422 naming it (send `force: true` to ' +
    'import it anyway). A model given no `modality` takes the one the list reports.',
  request: { params: IdParamSchema, body: body(ModelImportSchema) },
  responses: {
    201: json(z.object({ items: z.array(ModelSchema) }).openapi('ImportedModels'), 'Imported, in the order given'),
    502: {
      description: 'The provider could not list its models (its error in `detail`); `force: true` imports without asking',
      content: { 'application/problem+json': { schema: z.object({}).passthrough() } },
    },
    ...errors(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

export const listModels = createRoute({
  method: 'get',
  path: '/api/v1/models',
  operationId: 'listModels',
  tags: TAG_MODELS,
  summary: 'List models',
  request: { query: ModelListQuerySchema },
  responses: { 200: json(pageOf(ModelSchema, 'ModelPage'), 'A page of models'), ...errors(400, 401, 403) },
});

export const createModel = createRoute({
  method: 'post',
  path: '/api/v1/models',
  operationId: 'createModel',
  tags: TAG_MODELS,
  summary: 'Add a model of a provider',
  request: { headers: IdempotencyHeaders, body: body(ModelCreateSchema) },
  responses: { 201: json(ModelSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const getModel = createRoute({
  method: 'get',
  path: '/api/v1/models/{id}',
  operationId: 'getModel',
  tags: TAG_MODELS,
  summary: 'Read a model (archived and disabled ones are reported, not hidden)',
  request: { params: IdParamSchema },
  responses: { 200: json(ModelSchema, 'The model'), ...errors(400, 401, 403, 404) },
});

export const updateModel = createRoute({
  method: 'patch',
  path: '/api/v1/models/{id}',
  operationId: 'updateModel',
  tags: TAG_MODELS,
  summary: 'Change a model, enable or disable it, or give it a new price',
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(ModelUpdateSchema) },
  responses: { 200: json(ModelSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const deleteModel = createRoute({
  method: 'delete',
  path: '/api/v1/models/{id}',
  operationId: 'deleteModel',
  tags: TAG_MODELS,
  summary: 'Delete a model, or archive it when tasks have used it',
  description: 'A model a preset uses (as its model or a fallback) is a 409 naming the presets.',
  request: { params: IdParamSchema, headers: IfMatchHeaders },
  responses: { ...DeletedOrArchived, ...errors(400, 401, 403, 404, 409, 412) },
});

export const PriceParamSchema = IdParamSchema.extend({
  effective_from: z.iso
    .datetime({ offset: true, message: 'expected the price’s effective_from, an RFC 3339 timestamp' })
    .openapi({ param: { name: 'effective_from', in: 'path' }, example: '2026-01-01T00:00:00.000Z' }),
});

export const PriceReplaceSchema = PriceInputSchema.openapi('ModelPriceReplace');

export const replaceModelPrice = createRoute({
  method: 'put',
  path: '/api/v1/models/{id}/prices/{effective_from}',
  operationId: 'replaceModelPrice',
  tags: TAG_MODELS,
  summary: 'Correct a scheduled price (one not yet in effect)',
  description:
    'Replaces the figures of a price whose effective_from is still ahead, and moves it when the body names another ' +
    '(future) effective_from. A price already in effect is a 409: attempts were charged it; add a new price instead.',
  request: { params: PriceParamSchema, headers: IfMatchHeaders, body: body(PriceReplaceSchema) },
  responses: {
    200: json(ModelSchema, 'The model with the corrected price'),
    ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422),
  },
});

export const withdrawModelPrice = createRoute({
  method: 'delete',
  path: '/api/v1/models/{id}/prices/{effective_from}',
  operationId: 'withdrawModelPrice',
  tags: TAG_MODELS,
  summary: 'Withdraw a scheduled price (one not yet in effect)',
  description: 'A price already in effect is a 409: attempts were charged it, so it stays in the history.',
  request: { params: PriceParamSchema, headers: IfMatchHeaders },
  responses: { 200: json(ModelSchema, 'The model without the price'), ...errors(400, 401, 403, 404, 409, 412) },
});

export const listPresets = createRoute({
  method: 'get',
  path: '/api/v1/presets',
  operationId: 'listPresets',
  tags: TAG_PRESETS,
  summary: 'List parameter presets',
  request: { query: PresetListQuerySchema },
  responses: { 200: json(pageOf(PresetSchema, 'ParameterPresetPage'), 'A page of presets'), ...errors(400, 401, 403) },
});

export const createPreset = createRoute({
  method: 'post',
  path: '/api/v1/presets',
  operationId: 'createPreset',
  tags: TAG_PRESETS,
  summary: 'Create a parameter preset',
  description: "Parameters are checked against what each model's provider kind supports (its model and every fallback).",
  request: { headers: IdempotencyHeaders, body: body(PresetCreateSchema) },
  responses: { 201: json(PresetSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const getPreset = createRoute({
  method: 'get',
  path: '/api/v1/presets/{id}',
  operationId: 'getPreset',
  tags: TAG_PRESETS,
  summary: 'Read a parameter preset (archived and disabled ones are reported, not hidden)',
  request: { params: IdParamSchema },
  responses: { 200: json(PresetSchema, 'The preset'), ...errors(400, 401, 403, 404) },
});

export const updatePreset = createRoute({
  method: 'patch',
  path: '/api/v1/presets/{id}',
  operationId: 'updatePreset',
  tags: TAG_PRESETS,
  summary: 'Change a parameter preset',
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(PresetUpdateSchema) },
  responses: { 200: json(PresetSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const deletePreset = createRoute({
  method: 'delete',
  path: '/api/v1/presets/{id}',
  operationId: 'deletePreset',
  tags: TAG_PRESETS,
  summary: 'Archive a parameter preset',
  description: 'Presets are archived, never deleted: templates of the prompt service and past tasks keep resolving them.',
  request: { params: IdParamSchema, headers: IfMatchHeaders },
  responses: { ...DeletedOrArchived, ...errors(400, 401, 403, 404, 412) },
});

/**
 * The problem type (a 409) of a provider key the registry cannot decrypt: sealed with a master key its
 * keyring lacks. Nothing a retry fixes; the detail says what does.
 */
export const CREDENTIAL_UNREADABLE = 'credential-unreadable';

/** Not public: the runner's one way to a decrypted key (ADR 0007). Answers only the `runner` service identity. */
export const ProviderCredentialSchema = z.object({
  provider_id: Uuid,
  kind: ProviderKindSchema,
  base_url: z.string(),
  api_key: z.string().nullable(),
  organization: z.string().nullable(),
  project: z.string().nullable(),
  extra_headers: z.record(z.string(), z.string()),
  timeout_ms: z.number().int(),
  max_tokens_field: MaxTokensField.nullable(),
  enabled: z.boolean(),
  archived_at: Timestamp.nullable(),
  updated_at: Timestamp,
});

export const getProviderCredential = createRoute({
  method: 'get',
  path: '/internal/providers/{id}/credential',
  operationId: 'getProviderCredential',
  summary: 'The decrypted connection of a provider (runner only)',
  request: { params: IdParamSchema },
  responses: { 200: json(ProviderCredentialSchema, 'The connection, key included'), ...errors(400, 401, 403, 404, 409) },
});

/** At most this many ids of each kind per snapshot read: what one task (a preset, its models) needs, many times over. */
const SNAPSHOT_IDS = z.array(Uuid).max(200, 'expected at most 200 ids').default([]);

export const SnapshotsRequestSchema = z.object({
  provider_ids: SNAPSHOT_IDS,
  model_ids: SNAPSHOT_IDS,
  preset_ids: SNAPSHOT_IDS,
});

/** In the shapes of registry.*.changed (`credential_changed` is false: nothing changed). */
export const SnapshotsSchema = z.object({
  providers: z.array(ProviderSnapshotSchema),
  models: z.array(ModelSnapshotSchema),
  presets: z.array(PresetSnapshotSchema),
});

/**
 * Not public: what the runner keeps a copy of (ADR 0018), for a copy that lacks some of it, in one call.
 * Answers only the `runner` service identity.
 */
export const readSnapshots = createRoute({
  method: 'post',
  path: '/internal/snapshots',
  operationId: 'readRegistrySnapshots',
  summary: 'Providers, models and presets by ids, with what they refer to, as their events carry them (runner only)',
  description:
    'Each preset brings its model and fallback models, each model its provider, archived and disabled ones included; ids the registry does not know are left out. Reads only, so it is sent again after a lost connection.',
  'x-idempotent': true,
  request: { body: body(SnapshotsRequestSchema) },
  responses: { 200: json(SnapshotsSchema, 'What the registry has of them'), ...errors(400, 401, 403, 413, 415, 422) },
});

const LegacyId = z.string().min(1, 'expected the legacy row id').max(200, 'expected at most 200 characters');
export const LEGACY_REGISTRY_KINDS = ['provider', 'model', 'preset'] as const;

/** What the legacy importer (docs/migration.md) asks the registry to create, each row with its legacy id. */
export const LegacyRegistryImportSchema = z
  .object({
    source: z.string().min(1, 'expected the name of the legacy database').max(200, 'expected at most 200 characters'),
    dry_run: z
      .boolean()
      .default(false)
      .openapi({ description: 'Check and answer everything, then roll it back: what an import would do now.' }),
    providers: z
      .array(z.object({ legacy_id: LegacyId, name: Name, kind: ProviderKindSchema, base_url: z.url() }).strict())
      .max(200, 'expected at most 200 providers')
      .default([]),
    models: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            provider_legacy_id: LegacyId,
            provider_model_id: ProviderModelId,
            max_output_tokens: TokenCount.nullable().optional(),
          })
          .strict(),
      )
      .max(2000, 'expected at most 2000 models')
      .default([]),
    presets: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            name: Name,
            description: z.string().max(2000, 'expected at most 2000 characters').default(''),
            model_legacy_id: LegacyId.nullable(),
            parameters: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .max(200, 'expected at most 200 presets')
      .default([]),
  })
  .strict();

export const LegacyRegistryImportResultSchema = z.object({
  items: z.array(
    z.object({
      kind: z.enum(LEGACY_REGISTRY_KINDS),
      legacy_id: z.string(),
      id: Uuid,
      /** False when an earlier import of the same source made it already. */
      created: z.boolean(),
      name: z.string(),
    }),
  ),
  /** Rows the registry's own rules refuse (a preset's parameters its model does not take): not imported, each with why. */
  refused: z.array(z.object({ kind: z.enum(LEGACY_REGISTRY_KINDS), legacy_id: z.string(), reason: z.string() })),
});

/**
 * Not public: the legacy importer's way in (answers only the `importer` service identity). Rows the source
 * already brought are answered with their ids and not created again; the whole request is one transaction.
 */
export const importLegacyRegistry = createRoute({
  method: 'post',
  path: '/internal/import/legacy',
  operationId: 'importLegacyRegistry',
  summary: 'Create the providers, models and presets of a legacy database (importer only)',
  'x-idempotent': true,
  request: { body: body(LegacyRegistryImportSchema) },
  responses: {
    200: json(LegacyRegistryImportResultSchema, 'Each row with the registry id it has'),
    ...errors(400, 401, 403, 413, 415, 422),
  },
});

const read = { service: 'registry', role: 'viewer', scope: 'registry:read' } as const;
const edit = { service: 'registry', role: 'admin', scope: 'registry:write' } as const;
const admin = { service: 'registry', role: 'admin', scope: 'admin' } as const;

/** The registry service's public routes (see ./index.ts). */
export const registryRoutes: PublicRoute[] = [
  { route: listProviders, ...read },
  { route: createProvider, ...admin },
  { route: getProvider, ...read },
  { route: updateProvider, ...admin },
  { route: deleteProvider, ...admin },
  { route: testProvider, ...admin },
  // Discovering a provider's models uses its key to read, never to generate; it serves the import.
  { route: listRemoteModels, ...edit },
  { route: importModels, ...edit },
  { route: listModels, ...read },
  { route: createModel, ...edit },
  { route: getModel, ...read },
  { route: updateModel, ...edit },
  { route: deleteModel, ...edit },
  { route: replaceModelPrice, ...edit },
  { route: withdrawModelPrice, ...edit },
  { route: listPresets, ...read },
  { route: createPreset, ...edit },
  { route: getPreset, ...read },
  { route: updatePreset, ...edit },
  { route: deletePreset, ...edit },
];
