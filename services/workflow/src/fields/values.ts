import { fieldPath, type FieldProblem } from '@llmops/kit/problem';
import type { FieldRow } from '../db/fields.ts';
import { schemaErrors } from './json-schema.ts';

/** Limits of values, by kind (docs/workflow.md#fields). */
export const VALUE_LIMITS = {
  textChars: 10_000,
  markdownChars: 200_000,
  listItems: 1_000,
  listItemChars: 10_000,
  imageTextChars: 10_000,
} as const;

const IMAGE_KEYS = ['url', 'prompt', 'caption', 'alt'] as const;

/** An image a task made, as the runner serves it through the public API (same origin as the dashboard). */
export const TASK_IMAGE_PATH =
  /^\/api\/v1\/tasks\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/images\/\d{1,2}$/;

function httpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Every way `value` does not fit the field, each naming where (`at`, e.g. `body.value[2]`). null always
 * fits: it clears the value. text and markdown are strings; a list is strings; json is any JSON that
 * satisfies the field's schema, if it has one; an image is `{url, prompt, caption, alt}`, each optional, its
 * url an http(s) URL or the path of an image a task made.
 */
export function valueProblems(field: Pick<FieldRow, 'kind' | 'json_schema'>, value: unknown, at = 'body.value'): FieldProblem[] {
  if (value === null) return [];
  const problem = (message: string, ...path: (string | number)[]): FieldProblem => ({ field: fieldPath(at, ...path), message });
  switch (field.kind) {
    case 'text':
    case 'markdown': {
      const max = field.kind === 'text' ? VALUE_LIMITS.textChars : VALUE_LIMITS.markdownChars;
      if (typeof value !== 'string') return [problem(`a ${field.kind} field takes a string (or null to clear it)`)];
      return value.length > max ? [problem(`expected at most ${max.toLocaleString('en')} characters`)] : [];
    }
    case 'list': {
      if (!Array.isArray(value)) return [problem('a list field takes an array of strings (or null to clear it)')];
      if (value.length > VALUE_LIMITS.listItems)
        return [problem(`expected at most ${VALUE_LIMITS.listItems.toLocaleString('en')} items`)];
      const problems: FieldProblem[] = [];
      value.forEach((item, index) => {
        if (typeof item !== 'string') problems.push(problem('expected a string', index));
        else if (item.length > VALUE_LIMITS.listItemChars)
          problems.push(problem(`expected at most ${VALUE_LIMITS.listItemChars.toLocaleString('en')} characters`, index));
      });
      return problems;
    }
    case 'json':
      if (!field.json_schema) return [];
      return schemaErrors(field.json_schema, value).map((error) => ({
        field:
          at +
          error.path.replaceAll(/\/([^/]*)/g, (_, segment: string) => (/^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`)),
        message: error.message,
      }));
    case 'image': {
      if (typeof value !== 'object' || Array.isArray(value))
        return [problem('an image field takes an object {url, prompt, caption, alt} (or null to clear it)')];
      const problems: FieldProblem[] = [];
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (!(IMAGE_KEYS as readonly string[]).includes(key))
          problems.push(problem(`not a part of an image (${IMAGE_KEYS.join(', ')})`, key));
        else if (item === null) continue;
        else if (typeof item !== 'string') problems.push(problem('expected a string or null', key));
        else if (item.length > VALUE_LIMITS.imageTextChars) problems.push(problem('expected at most 10,000 characters', key));
        else if (key === 'url' && !httpUrl(item) && !TASK_IMAGE_PATH.test(item))
          problems.push(problem('expected an http:// or https:// URL, or a task image (/api/v1/tasks/{id}/images/{index})', key));
      }
      return problems;
    }
  }
}
