/**
 * The normalized provider interface (ADR 0011): one adapter per wire protocol, each on the official
 * SDK, with the SDK's retries off and one AbortSignal per attempt, so one call is exactly one request.
 * The registry uses it to test connections and list models; the runner to run tasks.
 */

export const PROVIDER_KINDS = ['openai', 'anthropic', 'ollama'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** How to reach one provider: what the registry stores, with the key decrypted. */
export interface ProviderConnection {
  kind: ProviderKind;
  /** What the SDK takes as its base: `https://api.openai.com/v1`, `https://api.anthropic.com`, `http://127.0.0.1:11434`. */
  baseUrl: string;
  apiKey?: string | null;
  organization?: string | null;
  project?: string | null;
  headers?: Record<string, string>;
  /**
   * OpenAI-compatible servers: the body field that carries the output cap. OpenAI itself takes
   * `max_completion_tokens`; several local servers read only `max_tokens` (docs/providers.md).
   * Absent: the adapter's default for the kind.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Structured output: free text, any JSON object, or JSON that fits a schema. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean };

/** Sampling parameters by their normalized names; each adapter maps them onto its wire protocol. */
export interface ChatParameters {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_output_tokens?: number;
  stop?: string[];
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  response_format?: ResponseFormat;
  /** Reasoning models that take it (OpenAI o-series, gpt-5 family): how hard the model thinks. */
  reasoning_effort?: 'none' | 'minimal' | 'low' | 'medium' | 'high';
}

export interface ChatRequest {
  /** The provider's own model id. */
  model: string;
  messages: ChatMessage[];
  parameters?: ChatParameters;
  /** Stream deltas (default true): time to first token is measured either way. */
  stream?: boolean;
  /**
   * The model is a reasoning model (from its rules): system messages go in the `developer` role where
   * the protocol has one, and only the parameters the model accepts are sent.
   */
  reasoning?: boolean;
  /** The output cap when `parameters.max_output_tokens` is not given and the protocol needs one (Anthropic): the model's own maximum. */
  defaultMaxOutputTokens?: number;
}

export interface AttemptOptions {
  /** The caller's signal (task cancelled, worker stopping); aborting it ends the attempt as `cancelled`. */
  signal?: AbortSignal;
  /** No first byte within this many ms ends the attempt as a `timeout`. */
  firstByteTimeoutMs?: number;
  /** No new data for this many ms during a stream ends the attempt as a `timeout`. */
  idleTimeoutMs?: number;
  /** Called with each text delta as it arrives. */
  onDelta?: (text: string) => void;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'other';

/** Token counts: `input_tokens` includes cached ones; `cached_input_tokens` is the part read from a cache. */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
}

/**
 * The exact request an attempt sent, for the task record (ADR 0010): method, URL, every header the SDK
 * gave to fetch except the authorization ones (version headers, organization, project, extra headers and
 * the SDK's own are kept), and the body as the exact text sent (jsonb would reorder its keys). The
 * transport adds only `host`, `connection`, `content-length` and `accept-encoding`-style headers of its own.
 */
export interface WireRequest {
  method: string;
  url: string;
  /** Header names in lower case, as fetch sends them. */
  headers: Record<string, string>;
  /** The body exactly as sent ('' when there was none). */
  bodyText: string;
}

export interface ChatResult {
  text: string;
  finish_reason: FinishReason;
  /** The provider's own finish reason, as it said it. */
  provider_finish_reason: string | null;
  usage: Usage;
  /** Milliseconds from sending the request to the first text delta (or the whole answer when not streaming). */
  time_to_first_token_ms: number | null;
  latency_ms: number;
  /** The provider's response id, when it gives one. */
  response_id: string | null;
  wire: WireRequest;
}

export interface ImageRequest {
  model: string;
  prompt: string;
  n?: number;
  size?: string;
  quality?: string;
}

export interface GeneratedImage {
  /** PNG (or the provider's format) bytes; the runner stores them, never on disk. */
  data: Buffer;
  mime_type: string;
  revised_prompt: string | null;
}

export interface ImageResult {
  images: GeneratedImage[];
  usage: Usage | null;
  latency_ms: number;
  wire: WireRequest;
}

export interface RemoteModel {
  /** The provider's own model id. */
  id: string;
  display_name: string | null;
  created_at: string | null;
  /** What it makes: `image` for image generation models, `chat` for the rest. */
  modality: 'chat' | 'image';
  /** Extra facts the provider reports (Ollama's size and family, for example). */
  details: Record<string, unknown>;
}

export interface ProviderAdapter {
  readonly kind: ProviderKind;
  chat(connection: ProviderConnection, request: ChatRequest, options?: AttemptOptions): Promise<ChatResult>;
  /** Image generation; adapters whose protocol has none throw a `bad_request` ProviderError. */
  generateImage(connection: ProviderConnection, request: ImageRequest, options?: AttemptOptions): Promise<ImageResult>;
  listModels(connection: ProviderConnection, options?: AttemptOptions): Promise<RemoteModel[]>;
}
