import { withArticle } from '@llmops/kit/english';
import type { VariableUse } from './analyze.ts';

export type VariableType = 'string' | 'number' | 'boolean' | 'list' | 'object';

export interface VariableDecl {
  name: string;
  type: VariableType;
  required: boolean;
  description: string;
  default?: unknown;
}

export interface InputProblem {
  code: 'missing_variable' | 'wrong_type' | 'missing_property' | 'bad_default';
  variable: string;
  message: string;
  /** The use that shows the problem, when it comes from the template rather than the declaration. */
  use?: { index: number; line: number; column: number };
}

/** The type name of a JSON value, in the variable schema's vocabulary. */
export function typeOf(value: unknown): VariableType | 'null' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isFinite(value) ? 'number' : 'other';
    case 'boolean':
      return 'boolean';
    case 'object':
      return 'object';
    default:
      return 'other';
  }
}

/** Problems with declared defaults: a default must have the declared type. */
export function checkDeclarations(declared: readonly VariableDecl[]): { index: number; message: string }[] {
  const problems: { index: number; message: string }[] = [];
  const seen = new Set<string>();
  declared.forEach((variable, index) => {
    if (seen.has(variable.name)) problems.push({ index, message: `${variable.name} is declared twice` });
    seen.add(variable.name);
    if (variable.default !== undefined && typeOf(variable.default) !== variable.type) {
      problems.push({
        index,
        message: `the default of ${variable.name} is ${describe(variable.default)}, not ${withArticle(variable.type)}`,
      });
    }
  });
  return problems;
}

function describe(value: unknown): string {
  const type = typeOf(value);
  return type === 'null' ? 'null' : type === 'other' ? 'not a JSON value' : withArticle(type);
}

// Properties Liquid gives lists and strings without them being keys of the value.
const LIST_PROPERTIES = new Set(['size', 'first', 'last']);
const STRING_PROPERTIES = new Set(['size']);

export interface CheckedInputs {
  /** The render scope: the inputs, declared defaults where absent, null for absent optional ones. */
  scope: Record<string, unknown>;
  problems: InputProblem[];
  /** Roots with a problem: entries that use them are not rendered (their problem is already listed). */
  failedRoots: Set<string>;
}

/**
 * Checks the inputs against the declared variables and against every variable the parts use (static
 * analysis) before anything renders, so every problem is listed at once: a strict engine would stop
 * at the first. `uses[i].index` is the entry the use comes from.
 */
export function checkInputs(
  declared: readonly VariableDecl[],
  uses: readonly (VariableUse & { index: number })[],
  inputs: Record<string, unknown>,
): CheckedInputs {
  const scope: Record<string, unknown> = {};
  const problems: InputProblem[] = [];
  const failedRoots = new Set<string>();
  // Roots that are missing or of the wrong type: their paths are not followed (one problem is enough).
  const rootFailed = new Set<string>();
  const fail = (problem: InputProblem, root: string, atRoot: boolean) => {
    problems.push(problem);
    failedRoots.add(root);
    if (atRoot) rootFailed.add(root);
  };
  for (const [name, value] of Object.entries(inputs)) scope[name] = value;

  const declaredByName = new Map(declared.map((variable) => [variable.name, variable]));
  for (const variable of declared) {
    if (Object.hasOwn(inputs, variable.name)) {
      const value = inputs[variable.name];
      if (typeOf(value) !== variable.type) {
        fail(
          {
            code: 'wrong_type',
            variable: variable.name,
            message: `${variable.name} should be ${withArticle(variable.type)}, but the input is ${describe(value)}`,
          },
          variable.name,
          true,
        );
      }
    } else if (variable.default !== undefined) {
      scope[variable.name] = variable.default;
    } else if (variable.required) {
      const use = uses.find((u) => u.root === variable.name);
      fail(
        {
          code: 'missing_variable',
          variable: variable.name,
          message: `${variable.name} is required (${withArticle(variable.type)}) but no input gives it`,
          ...(use ? { use: { index: use.index, line: use.line, column: use.column } } : {}),
        },
        variable.name,
        true,
      );
    } else {
      // An optional variable that is absent is nil: `{% if x %}` is false and `{{ x }}` is empty.
      scope[variable.name] = null;
    }
  }

  const reported = new Set<string>();
  for (const use of uses) {
    if (rootFailed.has(use.root)) continue;
    if (!Object.hasOwn(scope, use.root)) {
      fail(
        {
          code: 'missing_variable',
          variable: use.root,
          message: `${use.root} is used but no input gives it`,
          use: { index: use.index, line: use.line, column: use.column },
        },
        use.root,
        true,
      );
      continue;
    }
    if (declaredByName.get(use.root)?.required === false && scope[use.root] === null) continue;
    const problem = walk(use, scope[use.root]);
    if (problem && !reported.has(problem.variable)) {
      reported.add(problem.variable);
      fail({ ...problem, use: { index: use.index, line: use.line, column: use.column } }, use.root, false);
    }
  }
  return { scope, problems, failedRoots };
}

/** Follows a use's path through the input value; the first step that does not exist is the problem. */
function walk(use: VariableUse, root: unknown): Omit<InputProblem, 'use'> | undefined {
  let value = root;
  const done: (string | number)[] = [];
  for (const segment of use.segments) {
    const here = pathText(use.root, done);
    if (Array.isArray(value)) {
      if (typeof segment === 'number') {
        const index = segment < 0 ? value.length + segment : segment;
        if (index < 0 || index >= value.length) {
          return {
            code: 'missing_property',
            variable: pathText(use.root, [...done, segment]),
            message: `${here} has ${value.length} item(s), so ${pathText(use.root, [...done, segment])} does not exist`,
          };
        }
        value = value[index];
      } else if (LIST_PROPERTIES.has(segment)) {
        value = segment === 'size' ? value.length : segment === 'first' ? value[0] : value[value.length - 1];
      } else {
        return {
          code: 'wrong_type',
          variable: here,
          message: `${here} is a list, but ${pathText(use.root, [...done, segment])} uses it as an object`,
        };
      }
    } else if (typeOf(value) === 'object') {
      const object = value as Record<string, unknown>;
      const key = String(segment);
      if (!Object.hasOwn(object, key)) {
        return {
          code: 'missing_property',
          variable: pathText(use.root, [...done, segment]),
          message: `${pathText(use.root, [...done, segment])} is used but ${here} has no property "${key}"`,
        };
      }
      value = object[key];
    } else if (typeof value === 'string' && typeof segment === 'string' && STRING_PROPERTIES.has(segment)) {
      value = value.length;
    } else {
      return {
        code: 'wrong_type',
        variable: here,
        message: `${here} is ${describe(value)}, but ${pathText(use.root, [...done, segment])} reads a property of it`,
      };
    }
    done.push(segment);
  }
  return undefined;
}

function pathText(root: string, segments: readonly (string | number)[]): string {
  return segments.reduce<string>(
    (path, segment) =>
      typeof segment === 'number'
        ? `${path}[${segment}]`
        : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)
          ? `${path}.${segment}`
          : `${path}[${JSON.stringify(segment)}]`,
    root,
  );
}
