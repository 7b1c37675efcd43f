import { Ajv } from 'ajv';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ResponseFormat } from '@llmops/kit/adapters/types';
import type { TaskError } from './task.ts';

/*
 * Structured output (docs/tasks.md#structured-output): a task that asked for JSON succeeds only with a
 * reply that is JSON of the shape it asked for. Providers' JSON modes are not a guarantee (a reply cut
 * by max_output_tokens, a model that ignores the mode, a local server without strict decoding), so the
 * runner parses every such reply and validates it against the schema it sent, with a JSON Schema
 * validator (ajv: 2020-12, or draft-07 when the schema says so). A reply that fails is an attempt that failed with `invalid_output`.
 */

/** One reason a reply does not fit: where in the reply (a JSON pointer, "" for the whole) and what is wrong. */
export interface OutputError {
  path: string;
  message: string;
}

/** At most this many of the validator's errors are kept on the attempt. */
const MAX_ERRORS = 20;

// addUsedSchema off: a schema's `$id` is not registered, so an edited schema with the same `$id` still compiles.
const options = { strict: false, allErrors: true, validateFormats: true, addUsedSchema: false };
const draft2020 = new Ajv2020(options);
const draft07 = new Ajv(options);
// ajv-formats carries its own copy of ajv's types; the instances are the same kind at run time.
for (const instance of [draft2020, draft07]) (addFormats as unknown as (ajv: Ajv2020 | Ajv) => void)(instance);

/**
 * The validator for a schema's dialect: draft-07 (and -06) when its `$schema` says so, else 2020-12 —
 * the dialect the providers' structured-output modes document. Another `$schema` (2019-09, say) is
 * read as 2020-12, which differs from it only in keywords those modes do not take.
 */
function compile(schema: Record<string, unknown>): ValidateFunction {
  const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (/draft-0[67]/.test(dialect)) return draft07.compile(schema);
  if (dialect === '' || dialect.includes('2020-12')) return draft2020.compile(schema);
  const { $schema: _, ...rest } = schema;
  return draft2020.compile(rest);
}

/** Compiled validators by schema text: tasks of one preset share a schema, so it is compiled once. */
const compiled = new Map<string, ValidateFunction | Error>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction | Error {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    try {
      validate = compile(schema);
    } catch (error) {
      validate = error instanceof Error ? error : new Error(String(error));
    }
    if (compiled.size >= 500) {
      // Bounded memory: forget every compiled schema (ajv keeps its own cache too), not only ours.
      compiled.clear();
      draft2020.removeSchema();
      draft07.removeSchema();
    }
    compiled.set(key, validate);
  }
  return validate;
}

function describe(error: ErrorObject): OutputError {
  const extra =
    error.keyword === 'additionalProperties'
      ? ` ('${String((error.params as { additionalProperty?: unknown }).additionalProperty)}')`
      : error.keyword === 'enum'
        ? ` (${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)})`
        : '';
  return { path: error.instancePath, message: `${error.message ?? error.keyword}${extra}` };
}

function invalid(message: string, errors: OutputError[], retryable = true): TaskError {
  return {
    kind: 'invalid_output',
    message,
    retryable,
    status: null,
    retry_after_ms: null,
    provider_code: null,
    output_errors: errors.slice(0, MAX_ERRORS),
  };
}

/**
 * Why `text` does not meet the task's `response_format`, or null when it does (or no JSON was asked
 * for). `json_object`: the reply must parse as a JSON object. `json_schema`: it must parse and fit the
 * schema that was sent. A schema the validator cannot compile is reported as such (not retryable: every
 * attempt would fail the same way, whatever the model answers).
 */
export function checkOutput(format: ResponseFormat | undefined, text: string): TaskError | null {
  if (format === undefined || format.type === 'text') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return invalid(`the reply is not valid JSON (${why}); the task asked for ${format.type} output`, [
      { path: '', message: `not valid JSON: ${why}` },
    ]);
  }
  if (format.type === 'json_object') {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return null;
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return invalid(`the reply is JSON but ${got}, not the object json_object asks for`, [
      { path: '', message: 'must be object' },
    ]);
  }
  const validate = validatorFor(format.schema);
  if (validate instanceof Error)
    return invalid(
      `the reply could not be checked: the validator cannot compile the schema "${format.name}" (${validate.message}); fix the preset's response_format`,
      [{ path: '', message: `schema does not compile: ${validate.message}` }],
      false,
    );
  if (validate(value)) return null;
  const errors = (validate.errors ?? []).map(describe);
  const first = errors[0];
  return invalid(
    `the reply does not fit the schema "${format.name}": ${first ? `${first.path || 'the reply'} ${first.message}` : 'invalid'}${
      errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''
    }`,
    errors,
  );
}
