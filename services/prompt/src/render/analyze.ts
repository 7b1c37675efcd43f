import type { Liquid, Template } from 'liquidjs';

/** One use of an input variable: its path and where it appears. */
export interface VariableUse {
  root: string;
  /** Property names and indexes after the root, up to the first dynamic one (`a[b]`). */
  segments: (string | number)[];
  path: string;
  line: number;
  column: number;
}

type Segment = string | number | Segment[];

/** Renders a path the way a template writes it: `post.title`, `items[0].name`. */
export function pathOf(root: string, segments: readonly (string | number)[]): string {
  let path = root;
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

/**
 * The variables a parsed template expects from its inputs (the engine's static analysis): names it
 * reads that nothing in the template assigns. Locals (`assign`, `capture`, loop variables) are not
 * inputs.
 */
/**
 * Each parse's analysis, kept as long as the parse is: TemplateParser keeps parses by source, so the entries of a
 * published version (every task of a template) are analyzed once, not at every render (issue 14). The uses are
 * shared, hence read-only.
 */
const analyzed = new WeakMap<Liquid, WeakMap<Template[], readonly VariableUse[]>>();

export function variableUses(engine: Liquid, templates: Template[]): readonly VariableUse[] {
  let byParse = analyzed.get(engine);
  if (!byParse) analyzed.set(engine, (byParse = new WeakMap()));
  let uses = byParse.get(templates);
  if (!uses) byParse.set(templates, (uses = Object.freeze(analyze(engine, templates).map((use) => Object.freeze(use)))));
  return uses;
}

function analyze(engine: Liquid, templates: Template[]): VariableUse[] {
  const analysis = engine.analyzeSync(templates, { partials: false });
  const uses: VariableUse[] = [];
  for (const variables of Object.values(analysis.globals)) {
    for (const variable of variables) {
      const [root, ...rest] = variable.toArray() as Segment[];
      if (typeof root !== 'string') continue;
      const segments: (string | number)[] = [];
      for (const segment of rest) {
        if (Array.isArray(segment)) break;
        segments.push(segment);
      }
      uses.push({
        root,
        segments,
        path: pathOf(root, segments),
        line: variable.location.row,
        column: variable.location.col,
      });
    }
  }
  return uses;
}

/** What the UI shows: each input by name, every path used, and where (at most 20 places). */
export interface DiscoveredVariable {
  name: string;
  paths: string[];
  used_in: { source: string; line: number; column: number }[];
}

export function summarize(uses: readonly { use: VariableUse; source: string }[]): DiscoveredVariable[] {
  const byName = new Map<string, DiscoveredVariable>();
  for (const { use, source } of uses) {
    let variable = byName.get(use.root);
    if (!variable) {
      variable = { name: use.root, paths: [], used_in: [] };
      byName.set(use.root, variable);
    }
    if (!variable.paths.includes(use.path)) variable.paths.push(use.path);
    if (variable.used_in.length < 20) variable.used_in.push({ source, line: use.line, column: use.column });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
