import type { PublicRoute } from './index.ts';
import * as parts from './prompt/parts.ts';
import * as rendering from './prompt/rendering.ts';
import * as templates from './prompt/templates.ts';
import { PROMPT_LIMITS } from './prompt-limits.ts';

/**
 * The prompt service's contract (docs/prompts.md): prompt parts, message templates, immutable
 * versions, labels, rendering, one file per resource under ./prompt/. Limits are part of the contract,
 * so clients and the service agree.
 */
export { PROMPT_LIMITS };
export * from './prompt/shared.ts';
export * from './prompt/parts.ts';
export * from './prompt/templates.ts';
export * from './prompt/rendering.ts';

const read = { service: 'prompt', role: 'viewer', scope: 'prompts:read' } as const;
const write = { service: 'prompt', role: 'editor', scope: 'prompts:write' } as const;

/** The prompt service's public routes (see ./index.ts). */
export const promptRoutes: PublicRoute[] = [
  { route: parts.listPartKinds, ...read },
  { route: parts.listParts, ...read },
  { route: parts.createPart, ...write },
  { route: parts.getPart, ...read },
  { route: parts.updatePart, ...write },
  { route: parts.deletePart, ...write },
  { route: parts.publishPart, ...write },
  { route: parts.listPartVersions, ...read },
  { route: parts.getPartVersion, ...read },
  { route: parts.diffPart, ...read },
  { route: parts.partImpact, ...read },
  { route: parts.listPartLabels, ...read },
  { route: parts.setPartLabel, ...write },
  { route: parts.deletePartLabel, ...write },
  { route: templates.listTemplates, ...read },
  { route: templates.createTemplate, ...write },
  { route: templates.getTemplate, ...read },
  { route: templates.updateTemplate, ...write },
  { route: templates.deleteTemplate, ...write },
  { route: templates.reorderMessages, ...write },
  { route: templates.addMessage, ...write },
  { route: templates.updateMessage, ...write },
  { route: templates.deleteMessage, ...write },
  { route: templates.addEntry, ...write },
  { route: templates.deleteEntry, ...write },
  { route: templates.publishTemplate, ...write },
  { route: templates.listTemplateVersions, ...read },
  { route: templates.getTemplateVersion, ...read },
  { route: templates.diffTemplate, ...read },
  { route: templates.listLabels, ...read },
  { route: templates.getLabel, ...read },
  { route: templates.setLabel, ...write },
  { route: templates.deleteLabel, ...write },
  // Preview and assemble render without saving: reading is enough.
  { route: rendering.previewTemplate, ...read },
  { route: rendering.assemble, ...read },
];
