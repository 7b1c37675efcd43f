import type { Queryable } from '@llmops/kit/db';
import type { ModelRules } from '@llmops/kit/adapters/rules';

/** The reference data of sql/registry/000004: a model-id pattern of a kind and modality → its rules. */
export interface FamilyMatch {
  id: string;
  rules: ModelRules;
}

/**
 * The most specific family (highest priority) whose pattern matches the provider's model id, or
 * undefined when none does (then the model takes the kind's default from the code).
 */
export async function match(
  db: Queryable,
  kind: string,
  modality: 'chat' | 'image',
  providerModelId: string,
): Promise<FamilyMatch | undefined> {
  const { rows } = await db.query<FamilyMatch>(
    `SELECT id, rules FROM registry.model_families
     WHERE provider_kind = $1 AND modality = $2 AND $3 ~ pattern
     ORDER BY priority DESC, id LIMIT 1`,
    [kind, modality, providerModelId],
  );
  return rows[0];
}
