/**
 * After `--apply`: does every imported template preview without errors for inputs taken from the imported
 * posts? Each template's variables are read from a post's values (through the field an imported action maps
 * them from, else the field of the same key); the first post holding all of them is rendered by the prompt
 * service (`/internal/render`, label `legacy`). The report lists each template that does not render, or
 * for which no imported post holds every input, and why.
 */
import type { WorkflowPlan } from './workflow-plan.ts';

export interface PreviewOutcome {
  template_legacy_id: string;
  template: string;
  /** The legacy post whose values were the inputs; null when no post holds every input. */
  post_legacy_id: string | null;
  ok: boolean;
  /** Why not, when not ok. */
  problems: string[];
}

export interface ImportedTemplate {
  legacy_id: string;
  id: string;
  name: string;
  variables: { name: string; type: string }[];
}

type Render = (body: { template_id: string; label: string; inputs: Record<string, unknown> }) => Promise<{
  ok: boolean;
  problems: { message: string }[];
}>;

/** A legacy text as a list variable takes it: a JSON array as it is, else its non-empty lines. */
function asList(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed;
  } catch {
    // not JSON: lines
  }
  return value
    .split(/\r?\n/)
    .map((line) => line.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, '').trim())
    .filter(Boolean);
}

export async function checkPreviews(
  templates: readonly ImportedTemplate[],
  plan: WorkflowPlan,
  render: Render,
): Promise<PreviewOutcome[]> {
  const { posts, actions } = plan.request;
  const out: PreviewOutcome[] = [];
  for (const template of templates) {
    const mapped = actions.find((action) => action.template_id === template.id)?.inputs ?? {};
    const sourceOf = (name: string): { field: string; section: boolean } | null => {
      const source = mapped[name];
      if (source && (source.from === 'post_field' || source.from === 'section_field'))
        return { field: source.field, section: source.from === 'section_field' };
      return { field: name, section: false };
    };
    let chosen: { post: string | null; inputs: Record<string, unknown> } | null =
      template.variables.length === 0 ? { post: posts[0]?.legacy_id ?? null, inputs: {} } : null;
    for (const post of chosen ? [] : posts) {
      const inputs: Record<string, unknown> = {};
      for (const variable of template.variables) {
        const source = sourceOf(variable.name);
        const values = source?.section ? (post.sections?.[0]?.values ?? []) : (post.values ?? []);
        const found = values.find((value) => value.field === source?.field)?.value;
        if (found === undefined) break;
        inputs[variable.name] = variable.type === 'list' ? asList(found) : found;
      }
      if (Object.keys(inputs).length === template.variables.length) {
        chosen = { post: post.legacy_id, inputs };
        break;
      }
    }
    if (!chosen) {
      out.push({
        template_legacy_id: template.legacy_id,
        template: template.name,
        post_legacy_id: null,
        ok: false,
        problems: [
          `no imported post holds a value for every input (${template.variables.map((v) => v.name).join(', ')}): preview it with inputs by hand`,
        ],
      });
      continue;
    }
    const rendered = await render({ template_id: template.id, label: 'legacy', inputs: chosen.inputs });
    out.push({
      template_legacy_id: template.legacy_id,
      template: template.name,
      post_legacy_id: chosen.post,
      ok: rendered.ok,
      problems: rendered.problems.map((problem) => problem.message),
    });
  }
  return out;
}
