import { Ajv } from 'ajv';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/*
 * A `json` field may carry a JSON Schema its values must satisfy (and which an LLM action sends as the
 * task's response format). Read as 2020-12, or draft-07 when its `$schema` says so, like the runner's
 * check of structured output (services/runner/src/tasks/structured-output.ts).
 */

const options = { strict: false, allErrors: true, addUsedSchema: false };
const draft2020 = new Ajv2020(options);
const draft07 = new Ajv(options);

const compiled = new Map<string, ValidateFunction | Error>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction | Error {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    try {
      const dialect = typeof schema.$schema === 'string' ? schema.$schema : '';
      if (/draft-0[67]/.test(dialect)) validate = draft07.compile(schema);
      else {
        const { $schema: _, ...rest } = schema;
        validate = draft2020.compile(dialect === '' || dialect.includes('2020-12') ? schema : rest);
      }
    } catch (error) {
      validate = error instanceof Error ? error : new Error(String(error));
    }
    // Bounded memory: field schemas are few, but a loop of edits must not grow this without end.
    if (compiled.size >= 200) {
      compiled.clear();
      draft2020.removeSchema();
      draft07.removeSchema();
    }
    compiled.set(key, validate);
  }
  return validate;
}

/** Why the schema cannot be used (it does not compile), or undefined. */
export function schemaProblem(schema: Record<string, unknown>): string | undefined {
  const validate = validatorFor(schema);
  return validate instanceof Error ? `not a usable JSON Schema: ${validate.message}` : undefined;
}

/** Where a value breaks the schema (JSON pointers, "" for the whole) and why; empty when it fits. */
export function schemaErrors(schema: Record<string, unknown>, value: unknown): { path: string; message: string }[] {
  const validate = validatorFor(schema);
  if (validate instanceof Error) return [{ path: '', message: `the field's schema is not usable: ${validate.message}` }];
  if (validate(value)) return [];
  return (validate.errors ?? []).slice(0, 20).map((error) => ({
    path: error.instancePath,
    message: error.message ?? error.keyword,
  }));
}
