import { z } from 'zod';
import { loadConfig, millis } from '@llmops/kit/config';

/** The workflow service's own settings, on top of every service's (kit/runtime). */
export const WorkflowEnvSchema = z.object({
  /** How long an account's latest revision of a value stays open for its autosaves to amend it (PostgreSQL's clock). */
  WORKFLOW_AUTOSAVE_WINDOW_MS: millis().default(300_000),
});

export interface WorkflowConfig {
  autosaveWindowMs: number;
}

export function workflowConfig(rawEnv: Readonly<Record<string, string | undefined>>): WorkflowConfig {
  const env = loadConfig(WorkflowEnvSchema, { ...rawEnv });
  return { autosaveWindowMs: env.WORKFLOW_AUTOSAVE_WINDOW_MS };
}
