-- Model-family rules (issue 11, docs/model-rules.md): what each family of models takes, as
-- the providers' public API references state it. A model id pattern (a POSIX regular expression on the
-- provider's model id) of a provider kind and modality → the rules (services/kit/src/adapters/rules.ts:
-- accepted parameters with their ranges, exclusive groups, conditions, reasoning, image options). They are
-- copied onto a model when it is created or imported (the most specific match wins: highest priority);
-- each model keeps and may edit its own copy. A pattern of '.*' at priority 0 is the kind's permissive
-- default for ids no family knows (a fine-tune, a local model). Facts about public APIs, not sample data.

CREATE TABLE registry.model_families (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9.-]{0,62}$'),
  provider_kind text NOT NULL CHECK (provider_kind IN ('openai', 'anthropic', 'ollama')),
  modality text NOT NULL CHECK (modality IN ('chat', 'image')),
  pattern text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 200),
  priority integer NOT NULL CHECK (priority >= 0),
  description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  rules jsonb NOT NULL CHECK (jsonb_typeof(rules) = 'object' AND rules ?& ARRAY['reasoning', 'parameters', 'exclusive', 'conditions', 'image']),
  UNIQUE (provider_kind, modality, priority, pattern)
);
-- Reference data: changed by files in sql/ only, never by the service.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON registry.model_families FROM llmops_registry;

INSERT INTO registry.model_families (id, provider_kind, modality, pattern, priority, description, rules) VALUES
-- OpenAI and OpenAI-compatible servers.
('openai-default', 'openai', 'chat', '.*', 0,
 'Any model of an OpenAI-compatible server: every parameter of the Chat Completions protocol.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 2}, "top_p": {"min": 0, "max": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 4}, "seed": {}, "presence_penalty": {"min": -2, "max": 2}, "frequency_penalty": {"min": -2, "max": 2}, "response_format": {"values": ["text", "json_object", "json_schema"]}, "reasoning_effort": {"values": ["none", "minimal", "low", "medium", "high"]}}, "exclusive": [], "conditions": [], "image": null}'),
('openai-gpt-4', 'openai', 'chat', '^(gpt-4|gpt-3\.5-turbo|chatgpt-4o)', 10,
 'gpt-4o, gpt-4o-mini, gpt-4.1 (mini, nano), gpt-4-turbo, gpt-3.5-turbo: sampling models; no reasoning_effort.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 2}, "top_p": {"min": 0, "max": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 4}, "seed": {}, "presence_penalty": {"min": -2, "max": 2}, "frequency_penalty": {"min": -2, "max": 2}, "response_format": {"values": ["text", "json_object", "json_schema"]}}, "exclusive": [], "conditions": [], "image": null}'),
('openai-o-series', 'openai', 'chat', '^o[1-9]', 10,
 'o1, o3, o3-mini, o4-mini: reasoning models; no temperature, top_p, penalties or stop; reasoning_effort low, medium or high.',
 '{"reasoning": true, "parameters": {"max_output_tokens": {"min": 1}, "seed": {}, "response_format": {"values": ["text", "json_object", "json_schema"]}, "reasoning_effort": {"values": ["low", "medium", "high"]}}, "exclusive": [], "conditions": [], "image": null}'),
('openai-o1-mini', 'openai', 'chat', '^o1-(mini|preview)', 20,
 'o1-mini and o1-preview: reasoning models without reasoning_effort or structured output.',
 '{"reasoning": true, "parameters": {"max_output_tokens": {"min": 1}, "seed": {}}, "exclusive": [], "conditions": [], "image": null}'),
('openai-gpt-5', 'openai', 'chat', '^gpt-5', 10,
 'gpt-5, gpt-5-mini, gpt-5-nano: reasoning models; no temperature, top_p, penalties or stop; reasoning_effort minimal to high.',
 '{"reasoning": true, "parameters": {"max_output_tokens": {"min": 1}, "seed": {}, "response_format": {"values": ["text", "json_object", "json_schema"]}, "reasoning_effort": {"values": ["minimal", "low", "medium", "high"]}}, "exclusive": [], "conditions": [], "image": null}'),
('openai-gpt-5.1', 'openai', 'chat', '^gpt-5\.[1-9]', 20,
 'gpt-5.1 and later: reasoning models; reasoning_effort none to high; temperature and top_p only when reasoning_effort is none.',
 '{"reasoning": true, "parameters": {"temperature": {"min": 0, "max": 2}, "top_p": {"min": 0, "max": 1}, "max_output_tokens": {"min": 1}, "seed": {}, "response_format": {"values": ["text", "json_object", "json_schema"]}, "reasoning_effort": {"values": ["none", "low", "medium", "high"]}}, "exclusive": [], "conditions": [{"parameters": ["temperature", "top_p"], "when": {"parameter": "reasoning_effort", "values": ["none"]}}], "image": null}'),
('openai-gpt-5-pro', 'openai', 'chat', '^gpt-5(\.[0-9]+)?-pro', 30,
 'gpt-5-pro: a reasoning model that thinks only at reasoning_effort high.',
 '{"reasoning": true, "parameters": {"max_output_tokens": {"min": 1}, "seed": {}, "response_format": {"values": ["text", "json_object", "json_schema"]}, "reasoning_effort": {"values": ["high"]}}, "exclusive": [], "conditions": [], "image": null}'),
('openai-gpt-5-chat', 'openai', 'chat', '^gpt-5(\.[0-9]+)?-chat', 30,
 'gpt-5-chat-latest: the non-reasoning chat model of ChatGPT; sampling parameters, no reasoning_effort.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 2}, "top_p": {"min": 0, "max": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 4}, "seed": {}, "presence_penalty": {"min": -2, "max": 2}, "frequency_penalty": {"min": -2, "max": 2}, "response_format": {"values": ["text", "json_object", "json_schema"]}}, "exclusive": [], "conditions": [], "image": null}'),
('openai-image-default', 'openai', 'image', '.*', 0,
 'Any image model of an OpenAI-compatible server: up to 10 images, size and quality passed on as given.',
 '{"reasoning": false, "parameters": {}, "exclusive": [], "conditions": [], "image": {"n_max": 10, "sizes": null, "qualities": null}}'),
('openai-dall-e-2', 'openai', 'image', '^dall-e-2', 10,
 'dall-e-2: up to 10 images of 256x256, 512x512 or 1024x1024, quality standard only.',
 '{"reasoning": false, "parameters": {}, "exclusive": [], "conditions": [], "image": {"n_max": 10, "sizes": ["256x256", "512x512", "1024x1024"], "qualities": ["standard"]}}'),
('openai-dall-e-3', 'openai', 'image', '^dall-e-3', 10,
 'dall-e-3: one image per request, 1024x1024, 1792x1024 or 1024x1792, quality standard or hd.',
 '{"reasoning": false, "parameters": {}, "exclusive": [], "conditions": [], "image": {"n_max": 1, "sizes": ["1024x1024", "1792x1024", "1024x1792"], "qualities": ["standard", "hd"]}}'),
('openai-gpt-image-1', 'openai', 'image', '^gpt-image-1', 10,
 'gpt-image-1 (and -mini): up to 10 images of 1024x1024, 1536x1024 or 1024x1536, quality low, medium, high or auto.',
 '{"reasoning": false, "parameters": {}, "exclusive": [], "conditions": [], "image": {"n_max": 10, "sizes": ["1024x1024", "1536x1024", "1024x1536"], "qualities": ["low", "medium", "high", "auto"]}}'),
-- Anthropic (Messages API).
('anthropic-default', 'anthropic', 'chat', '.*', 0,
 'Any Claude model: every parameter of the Messages API.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 1}, "top_p": {"min": 0, "max": 1}, "top_k": {"min": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 16}, "response_format": {"values": ["text", "json_schema"]}}, "exclusive": [], "conditions": [], "image": null}'),
('anthropic-claude-3', 'anthropic', 'chat', '^claude-3', 10,
 'Claude 3, 3.5 and 3.7 models: temperature 0 to 1, top_p, top_k, stop sequences.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 1}, "top_p": {"min": 0, "max": 1}, "top_k": {"min": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 16}, "response_format": {"values": ["text", "json_schema"]}}, "exclusive": [], "conditions": [], "image": null}'),
('anthropic-claude-4', 'anthropic', 'chat', '^claude-(opus|sonnet|haiku)-4', 10,
 'Claude Opus 4, Opus 4.1 and Sonnet 4: temperature 0 to 1, top_p, top_k, stop sequences.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 1}, "top_p": {"min": 0, "max": 1}, "top_k": {"min": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 16}, "response_format": {"values": ["text", "json_schema"]}}, "exclusive": [], "conditions": [], "image": null}'),
('anthropic-claude-4.5', 'anthropic', 'chat', '^claude-(opus|sonnet|haiku)-(4-[5-9]|[5-9])', 20,
 'Claude 4.5-era models (Sonnet 4.5, Haiku 4.5, Opus 4.5 and later): temperature or top_p, not both.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 1}, "top_p": {"min": 0, "max": 1}, "top_k": {"min": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 16}, "response_format": {"values": ["text", "json_schema"]}}, "exclusive": [["temperature", "top_p"]], "conditions": [], "image": null}'),
-- Ollama (native API): local models take every option of the protocol.
('ollama-default', 'ollama', 'chat', '.*', 0,
 'Any local model of an Ollama server: every option of the native chat API.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 2}, "top_p": {"min": 0, "max": 1}, "top_k": {"min": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 16}, "seed": {}, "presence_penalty": {"min": -2, "max": 2}, "frequency_penalty": {"min": -2, "max": 2}, "response_format": {"values": ["text", "json_object", "json_schema"]}}, "exclusive": [], "conditions": [], "image": null}');

-- Each model's own rules, and the family they were copied from (null once edited through the API, or
-- when no family matched: then the kind's default from the code).
ALTER TABLE registry.models
  ADD COLUMN rules jsonb CHECK (rules IS NULL OR jsonb_typeof(rules) = 'object'),
  ADD COLUMN rules_family text;

UPDATE registry.models m SET rules = f.rules, rules_family = f.id
FROM (
  SELECT DISTINCT ON (m2.id) m2.id AS model_id, f.id, f.rules
  FROM registry.models m2
  JOIN registry.providers p ON p.id = m2.provider_id
  JOIN registry.model_families f
    ON f.provider_kind = p.kind AND f.modality = m2.modality AND m2.provider_model_id ~ f.pattern
  ORDER BY m2.id, f.priority DESC, f.id
) f
WHERE f.model_id = m.id;

-- OpenAI-compatible servers: the body field of the output cap (docs/providers.md). Null: the adapter's
-- default for the kind.
ALTER TABLE registry.providers
  ADD COLUMN max_tokens_field text CHECK (max_tokens_field IN ('max_tokens', 'max_completion_tokens'));
