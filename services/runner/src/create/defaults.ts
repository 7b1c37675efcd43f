/** Templates whose last default model is kept; past it the oldest is forgotten. */
const KEPT = 1_000;

/**
 * The default model each template's render answered last, so the next create from that template can
 * read the model while the prompt service renders instead of after it (create/prepare.ts). Only a guess:
 * the render's answer always decides, and a template whose default changed costs one more read once.
 */
export class TemplateDefaults {
  readonly #models = new Map<string, string>();

  guess(templateId: string | undefined): string | undefined {
    return templateId === undefined ? undefined : this.#models.get(templateId);
  }

  remember(templateId: string, modelId: string | null): void {
    this.#models.delete(templateId);
    if (modelId === null) return;
    if (this.#models.size >= KEPT) this.#models.delete(this.#models.keys().next().value as string);
    this.#models.set(templateId, modelId);
  }
}
