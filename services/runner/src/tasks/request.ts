import type { ChatParameters, ChatRequest, ImageRequest } from '@llmops/kit/adapters/types';
import type { ChainModel, TaskRow, TaskSnapshot } from './task.ts';

/** What an attempt asks its model, from the task's snapshot: a chat, or images from one prompt. */
export type AttemptRequest = { kind: 'chat'; chat: ChatRequest } | { kind: 'image'; image: ImageRequest };

/** An image model takes one prompt: the user messages' text, in order. */
export function imagePrompt(messages: TaskSnapshot['messages']): string {
  return messages
    .filter((message) => message.role !== 'assistant')
    .map((message) => message.content)
    .join('\n\n');
}

/** The request of an attempt of `row` on `model` (one of its chain): exactly what the adapter is given. */
export function attemptRequest(row: Pick<TaskRow, 'kind' | 'snapshot'>, model: ChainModel): AttemptRequest {
  const { snapshot } = row;
  if (row.kind === 'image')
    return {
      kind: 'image',
      image: { model: model.provider_model_id, prompt: imagePrompt(snapshot.messages), ...(snapshot.image ?? {}) },
    };
  return {
    kind: 'chat',
    chat: {
      model: model.provider_model_id,
      messages: snapshot.messages,
      parameters: snapshot.parameters as ChatParameters,
      // The model's rules and output cap (issue 11): the adapter sends a reasoning model's system messages
      // as `developer` and caps output at the model's own maximum when the parameters name none.
      ...(model.reasoning ? { reasoning: true } : {}),
      ...(model.max_output_tokens ? { defaultMaxOutputTokens: model.max_output_tokens } : {}),
    },
  };
}

/** The attempt's request as its record stores it (ADR 0010): model, roles and texts, parameters — what a preview shows. */
export function normalizedRequest(request: AttemptRequest): Record<string, unknown> {
  return request.kind === 'image' ? { ...request.image } : { ...request.chat };
}
