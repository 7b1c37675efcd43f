import type { z } from 'zod';

/** Why a provider would refuse a request: the parameter at fault (a path), a code, and its message. */
export interface RequestProblem {
  /** The path of the parameter at fault, `messages[0].role` style; null for the request as a whole. */
  param: string | null;
  code: string;
  message: string;
}

/** `messages[0].role`: the path of a zod issue as OpenAI writes it. */
export function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`),
    '',
  );
}

/** The first issue of a failed parse, worded as the providers word theirs. */
export function issueOf(error: z.ZodError): RequestProblem {
  const issue = error.issues[0] as z.core.$ZodIssue;
  const param = pathOf(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0] ?? '';
      const at = param === '' ? key : `${param}.${key}`;
      return { param: at, code: 'unknown_parameter', message: `Unrecognized request argument supplied: ${at}` };
    }
    case 'invalid_type':
      if (issue.input === undefined)
        return { param, code: 'missing_required_parameter', message: `Missing required parameter: '${param}'.` };
      return {
        param,
        code: 'invalid_type',
        message: `Invalid type for '${param}': expected ${issue.expected}, but got ${typeof issue.input} instead.`,
      };
    case 'too_small':
      return {
        param,
        code: issue.origin === 'array' ? 'empty_array' : 'invalid_value',
        message:
          issue.origin === 'array'
            ? `Invalid '${param}': empty array. Expected an array with minimum length ${String(issue.minimum)}, but got an empty array instead.`
            : `Invalid '${param}': value below minimum. Expected a value >= ${String(issue.minimum)}.`,
      };
    case 'too_big':
      return {
        param,
        code: 'invalid_value',
        message:
          issue.origin === 'array'
            ? `Invalid '${param}': array too long. Expected an array with maximum length ${String(issue.maximum)}.`
            : `Invalid '${param}': value above maximum. Expected a value <= ${String(issue.maximum)}.`,
      };
    case 'invalid_value':
      return {
        param,
        code: 'invalid_value',
        message: `Invalid value for '${param}': supported values are ${issue.values.map((v) => `'${String(v)}'`).join(', ')}.`,
      };
    default:
      return { param, code: 'invalid_value', message: `Invalid '${param}': ${issue.message}.` };
  }
}
