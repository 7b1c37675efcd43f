/** The D9 string rules: no NUL characters, no lone UTF-16 surrogates, anywhere in a JSON value. */

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
