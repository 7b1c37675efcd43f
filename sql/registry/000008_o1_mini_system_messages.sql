-- OpenAI's o1-mini and o1-preview take neither system nor developer messages (the reasoning guide: later
-- o-series models take developer messages instead of system ones); a conversation with one is a 400.
-- Their family says so, and the runner refuses such a task at creation (docs/model-rules.md). Models
-- already registered keep the rules they were given, like every change of a family.
UPDATE registry.model_families
   SET rules = rules || '{"system_messages": false}'::jsonb,
       description = 'o1-mini and o1-preview: reasoning models without reasoning_effort, structured output or system (developer) messages.'
 WHERE id = 'openai-o1-mini';
