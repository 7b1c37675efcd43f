import type { Schemas } from '#lib/api/client.ts';

type Status = Schemas['Post']['status'];
type Stage = Schemas['WorkflowStage'];
type Substage = Schemas['WorkflowSubstage'];

export const STATUS_LABEL: Record<Status, string> = {
  draft: 'Draft',
  in_process: 'In process',
  published: 'Published',
  archived: 'Archived',
};

export const STATUS_TONE: Record<Status, 'ok' | 'warning' | 'neutral'> = {
  draft: 'neutral',
  in_process: 'warning',
  published: 'ok',
  archived: 'neutral',
};

/** Each substage with its stage, by substage id: a post names only its substage. */
export function substageIndex(stages: readonly Stage[]): Map<string, { stage: Stage; substage: Substage }> {
  return new Map(stages.flatMap((stage) => stage.substages.map((substage) => [substage.id, { stage, substage }] as const)));
}
