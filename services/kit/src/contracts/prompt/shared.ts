import { z } from '@hono/zod-openapi';
import {} from '../common.ts';
import { PROMPT_LIMITS } from '../prompt-limits.ts';

/** What the prompt contract's resources share: names, texts, versions, variables, and the headers of writes. */
export const TAG = ['Prompts'];

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2025-06-01T09:30:00.000Z' });
export const Uuid = z.uuid({ message: 'expected a UUID' });
export const RoleSchema = z.enum(['system', 'user', 'assistant']).openapi('MessageRole');
export const Name = z.string().trim().min(1, 'expected a non-empty name').max(200, 'expected at most 200 characters');
export const Description = z.string().max(2000, 'expected at most 2,000 characters');
export const Content = z
  .string()
  .max(PROMPT_LIMITS.contentChars, `expected at most ${PROMPT_LIMITS.contentChars.toLocaleString('en')} characters`);
export const Tag = z
  .string()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,39}$/u, 'expected a tag of 1–40 letters, digits, spaces, dots, dashes or underscores')
  .openapi({ example: 'Newsletter' });
export const Tags = z.array(Tag).max(20, 'expected at most 20 tags');
export const KindName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'expected a part kind name such as "system" or "task"')
  .openapi({ example: 'system' });
export const VersionNumber = z.number().int().positive();
/** Label names (template and part labels alike). For parts, `latest` is built in: the newest published version. */
export const LabelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'expected a label: lower-case letters, digits, dots, dashes, underscores (1–63)')
  .openapi({ example: 'production' });

export const CommitMessage = z.string().max(2000, 'expected at most 2,000 characters');

export const LocationSchema = z.object({ line: z.number().int(), column: z.number().int() }).openapi('SourceLocation');

export const DiscoveredVariableSchema = z
  .object({
    name: z.string().openapi({ description: 'The root name the inputs must provide.' }),
    paths: z.array(z.string()).openapi({ description: 'Every property path used, e.g. `post.title`.' }),
    used_in: z
      .array(
        z.object({
          source: z.string().openapi({ description: 'The part (name@version, or "draft") or "inline text" it is used in.' }),
          line: z.number().int(),
          column: z.number().int(),
        }),
      )
      .openapi({ description: 'Where it is used, at most 20 places.' }),
  })
  .openapi('DiscoveredVariable');

export { IdempotencyHeaders, IfMatchHeaders } from '../common.ts';
