/**
 * The prompt service's limits (docs/prompts.md, Limits): part of its contract (./prompt.ts re-exports
 * them), in a file of their own so the render workers load them without the contract's schemas.
 */
export const PROMPT_LIMITS = {
  /** Characters of one part's content, or of one inline text entry. */
  contentChars: 65_536,
  /** Messages of one template, entries of one message, entries of one template. */
  messages: 100,
  entriesPerMessage: 50,
  entries: 200,
  /** Declared variables of one template. */
  variables: 100,
  /** Characters of everything one render produces, all messages together. */
  renderOutputChars: 1_000_000,
  /** Bytes of the JSON `inputs` of one render (the body limit of 1 MiB applies too). */
  inputBytes: 512 * 1024,
} as const;
