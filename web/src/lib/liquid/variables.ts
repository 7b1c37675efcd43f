/**
 * The variables a Liquid text reads, found as the reader types (before the prompt service has seen the
 * text): the root names of `{{ … }}` outputs and of `{% if/unless/elsif/case/for … in … %}` tags, less
 * the names the text makes itself (`assign`, `capture`, loop variables, `forloop`). The prompt service's
 * own list (after saving) is the authority; this one only keeps the list live while typing.
 */
const OUTPUT = /\{\{-?\s*([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*|\[[^\]]*\])*)/g;
const CONDITION = /\{%-?\s*(?:if|unless|elsif|case|when)\s+([^%]*?)-?%\}/g;
const LOOP = /\{%-?\s*(?:for|tablerow)\s+([A-Za-z_]\w*)\s+in\s+([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*)*)/g;
const MADE = /\{%-?\s*(?:assign|capture|increment|decrement)\s+([A-Za-z_]\w*)/g;
const NAME = /(?:^|[\s(=<>!,])([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*)*)/g;
const KEYWORDS = new Set(['and', 'or', 'contains', 'true', 'false', 'nil', 'null', 'empty', 'blank', 'forloop', 'tablerowloop']);

export interface UsedVariable {
  name: string;
  paths: string[];
}

export function usedVariables(text: string): UsedVariable[] {
  const made = new Set<string>(['forloop', 'tablerowloop']);
  for (const match of text.matchAll(MADE)) made.add(match[1]!);
  for (const match of text.matchAll(LOOP)) made.add(match[1]!);
  const found = new Map<string, Set<string>>();
  const use = (name: string, path: string) => {
    if (made.has(name) || KEYWORDS.has(name)) return;
    const paths = found.get(name) ?? new Set<string>();
    paths.add(`${name}${path}`);
    found.set(name, paths);
  };
  for (const match of text.matchAll(OUTPUT)) use(match[1]!, match[2] ?? '');
  for (const match of text.matchAll(LOOP)) use(match[2]!, match[3] ?? '');
  for (const match of text.matchAll(CONDITION)) {
    const expression = match[1]!.replace(/"[^"]*"|'[^']*'/g, ' ');
    for (const name of expression.matchAll(NAME)) use(name[1]!, name[2] ?? '');
  }
  return [...found].map(([name, paths]) => ({ name, paths: [...paths].sort() })).sort((a, b) => a.name.localeCompare(b.name));
}
