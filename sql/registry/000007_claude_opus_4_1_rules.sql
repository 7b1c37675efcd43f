-- Claude Opus 4.1 refuses `temperature` with `top_p` like the 4.5-era models ("`temperature` and `top_p`
-- cannot both be specified for this model", a 400), but 000004 put it in `anthropic-claude-4`, whose rules
-- take both: a preset the registry accepted failed every task. A family of its own, above that one.
-- Models registered before keep the rules they were given (docs/model-rules.md): an admin corrects one
-- with `PATCH /api/v1/models/{id}` and `rules`, or deletes and re-imports it.
INSERT INTO registry.model_families (id, provider_kind, modality, pattern, priority, description, rules) VALUES
('anthropic-claude-opus-4.1', 'anthropic', 'chat', '^claude-opus-4-1(-|$)', 20,
 'Claude Opus 4.1: temperature 0 to 1, top_p, top_k, stop sequences; temperature or top_p, not both.',
 '{"reasoning": false, "parameters": {"temperature": {"min": 0, "max": 1}, "top_p": {"min": 0, "max": 1}, "top_k": {"min": 1}, "max_output_tokens": {"min": 1}, "stop": {"max_items": 16}, "response_format": {"values": ["text", "json_schema"]}}, "exclusive": [["temperature", "top_p"]], "conditions": [], "image": null}');
