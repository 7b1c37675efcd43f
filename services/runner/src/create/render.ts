import { assemble, internalRender } from '@llmops/kit/contracts/prompt';
import type { TaskCreate } from '@llmops/kit/contracts/runner';
import type { ServiceClient, SuccessBody } from '@llmops/kit/http/service-client';
import type { FieldProblem, Problem } from '@llmops/kit/problem';
import type { TaskSnapshot } from '../tasks/task.ts';

type RenderResult = SuccessBody<typeof internalRender>;

/** The messages a task sends and where they came from. */
export interface Rendered {
  messages: TaskSnapshot['messages'];
  problems: FieldProblem[];
  template_id: string | null;
  template_version: number | null;
  template_label: string | null;
  part_versions: { part_id: string; version: number | 'draft' }[];
  default_model_id: string | null;
  default_preset_id: string | null;
  /** False when the template could not be resolved: whether it has a default model or preset is unknown. */
  defaults_known: boolean;
  estimated_input_tokens: number;
  /** Whether the text went through the template engine (templates always; ad-hoc messages on request). */
  rendered: boolean;
}

/** Tokens of literal text, roughly (the prompt service counts exactly when it renders). */
function approximateTokens(messages: TaskSnapshot['messages']): number {
  return messages.reduce((sum, message) => sum + Math.ceil(message.content.length / 4) + 4, 0);
}

function fromResult(result: RenderResult, label: string | null): Rendered {
  return {
    messages: result.messages.map((message) => ({ role: message.role, content: message.text })),
    problems: result.problems.map((problem) => ({
      field: problem.variable ? `body.inputs.${problem.variable}` : 'body.template_id',
      message: problem.message,
    })),
    template_id: result.template_id,
    template_version: result.template_version,
    template_label: label,
    part_versions: result.part_versions,
    default_model_id: result.default_model_id,
    default_preset_id: result.default_preset_id,
    defaults_known: true,
    estimated_input_tokens: result.token_estimate.total,
    rendered: true,
  };
}

function refused(field: string, problem: Pick<Problem, 'detail' | 'errors'>): Rendered {
  const problems = problem.errors?.length
    ? problem.errors.map((error) => ({ field: error.field, message: error.message }))
    : [{ field, message: problem.detail ?? 'the prompt service refused it' }];
  return {
    messages: [],
    problems,
    template_id: null,
    template_version: null,
    template_label: null,
    part_versions: [],
    default_model_id: null,
    default_preset_id: null,
    defaults_known: false,
    estimated_input_tokens: 0,
    rendered: false,
  };
}

/**
 * The messages of a task request: a published template rendered by the prompt service (a version, a
 * label, or the latest version), ad-hoc messages rendered on request, or ad-hoc messages as literal text.
 */
export async function renderMessages(
  prompt: ServiceClient,
  request: TaskCreate,
  { requestId, requester }: { requestId: string; requester: string },
): Promise<Rendered> {
  if (request.template_id === undefined) {
    const messages = request.messages ?? [];
    if (!request.render) {
      return {
        messages,
        problems: [],
        template_id: null,
        template_version: null,
        template_label: null,
        part_versions: [],
        default_model_id: null,
        default_preset_id: null,
        defaults_known: true,
        estimated_input_tokens: approximateTokens(messages),
        rendered: false,
      };
    }
    const answer = await prompt.call(assemble, {
      body: {
        messages: messages.map((message) => ({
          role: message.role,
          entries: [{ type: 'text' as const, text: message.content }],
        })),
        inputs: request.inputs,
      },
      requestId,
      onBehalfOf: requester,
    });
    // Ad-hoc messages have no defaults, whether they render or not.
    if (!answer.ok) return { ...refused('body.messages', answer.problem), defaults_known: true };
    return { ...fromResult(answer.body, null), template_id: null };
  }

  // Without a version or label, the latest published version, resolved by the prompt service in the same call.
  const source =
    request.version !== undefined
      ? { version: request.version }
      : request.label !== undefined
        ? { label: request.label }
        : { latest: true as const };
  const answer = await prompt.call(internalRender, {
    body: { template_id: request.template_id, ...source, inputs: request.inputs },
    requestId,
    onBehalfOf: requester,
  });
  if (!answer.ok) return refused(request.label ? 'body.label' : 'body.template_id', answer.problem);
  return fromResult(answer.body, request.label ?? null);
}
