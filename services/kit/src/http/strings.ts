/** The string rules of ADR 0013: no NUL characters, no lone UTF-16 surrogates, anywhere in a JSON value or a URL. */

const MAX_DEPTH = 64;

export interface StringProblem {
  field: string;
  message: string;
}

/** Walks a parsed JSON value; returns the first problem found, or undefined when it is clean. */
export function findStringProblem(value: unknown, path = 'body', depth = 0): StringProblem | undefined {
  if (depth > MAX_DEPTH) return { field: path, message: `JSON is nested deeper than ${MAX_DEPTH} levels` };
  if (typeof value === 'string') return stringProblem(value, path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findStringProblem(value[i], `${path}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = stringProblem(key, `${path} (a key)`);
      if (keyProblem) return keyProblem;
      const problem = findStringProblem(item, `${path}.${key}`, depth + 1);
      if (problem) return problem;
    }
  }
  return undefined;
}

export function stringProblem(text: string, field: string): StringProblem | undefined {
  if (text.includes('\u0000')) return { field, message: 'contains a NUL character (\\u0000), which is not allowed' };
  if (!text.isWellFormed()) return { field, message: 'contains a lone UTF-16 surrogate; send valid Unicode text' };
  return undefined;
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly: invalid bytes are an error, never replaced with U+FFFD. */
export function decodeUtf8Strict(bytes: ArrayBuffer): string | undefined {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The same rules for a request's URL: the path and every query parameter name and value must
 * percent-decode to valid UTF-8 (a lone surrogate such as `%ED%A0%80` is not) with no NUL. Routers and
 * validators would otherwise see a NUL that PostgreSQL refuses (a 500) or an escape left undecoded.
 */
export function findUrlProblem(url: URL): StringProblem | undefined {
  const path = componentProblem(url.pathname, 'path');
  if (path) return path;
  for (const pair of url.search.slice(1).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? '' : pair.slice(equals + 1);
    const decodedName = decodeComponent(name);
    const field = `query.${typeof decodedName === 'string' && !decodedName.includes('\u0000') ? decodedName : name}`;
    const problem = componentProblem(name, `${field} (its name)`) ?? componentProblem(value, field);
    if (problem) return problem;
  }
  return undefined;
}

function componentProblem(raw: string, field: string): StringProblem | undefined {
  const text = decodeComponent(raw);
  if (text === undefined) {
    return {
      field,
      message:
        'does not percent-decode to valid UTF-8 (a broken escape, a lone surrogate or a byte such as %FF); encode text as UTF-8',
    };
  }
  return stringProblem(text, field);
}

function decodeComponent(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}
