import { Output, Tag, TypeGuards, type Template } from 'liquidjs';
import type { TemplateParser } from './engine.ts';
import type { RenderRequest } from './render.ts';
import { encodingFor } from './tokens.ts';

/**
 * Whether a render's work is bounded by its size alone, so it may run on the service's event loop rather
 * than hop to a worker thread (./pool.ts). The pool exists because LiquidJS's own limits cannot stop every
 * runaway: `renderLimit` is checked between template nodes (one filter call or one huge range runs to its
 * end), and `memoryLimit` charges only some filters' allocations. A request qualifies only when nothing
 * in it can run away:
 *
 * - every entry is text and outputs of one variable path (`{{ post.title }}`, `{{ a.b[0] }}`): no tag (no
 *   loop, no assign, no capture), no filter (but `| raw`, which is that same step), no range, no literal;
 * - the entries' source is at most BOUNDED_LIMITS.sourceChars, so parsing them (cached by content) is short;
 * - the largest output the request can make — its text plus, for each output, the whole inputs and the
 *   declared defaults as JSON — is at most BOUNDED_LIMITS.outputChars;
 * - its tokens are approximated (no model's tokenizer to load and run).
 *
 * Such a render substitutes values into text: linear in that bound, well under a millisecond at the
 * task-create path's sizes. Everything else goes to the pool as before.
 */
export const BOUNDED_LIMITS = {
  sourceChars: 16_384,
  outputChars: 262_144,
} as const;

/**
 * A single property path: identifiers, numbers and quoted keys only (not `a[b]`, which reads another
 * variable), with no filter but the engine's own output step (engine.ts's `outputEscape`, which LiquidJS
 * appends to every output: JSON for an object or a list, linear in its size).
 */
function isPlainPath(node: Output, outputEscape: unknown): boolean {
  const value = node.value;
  if (value.filters.some((filter) => (filter as unknown as { handler: unknown }).handler !== outputEscape)) return false;
  const postfix = value.initial.postfix;
  const path = postfix[0];
  if (postfix.length !== 1 || !TypeGuards.isPropertyAccessToken(path) || path.props.length === 0) return false;
  return path.props.every(
    (prop) => TypeGuards.isWordToken(prop) || TypeGuards.isNumberToken(prop) || TypeGuards.isQuotedToken(prop),
  );
}

function plain(templates: readonly Template[], outputEscape: unknown): { plain: boolean; outputs: number } {
  let outputs = 0;
  for (const node of templates) {
    if (node instanceof Output) {
      if (!isPlainPath(node, outputEscape)) return { plain: false, outputs };
      outputs += 1;
    } else if (node instanceof Tag) return { plain: false, outputs };
  }
  return { plain: true, outputs };
}

export function isBounded(parser: TemplateParser, request: RenderRequest): boolean {
  if (encodingFor(request.model) !== undefined) return false;
  let sourceChars = 0;
  for (const message of request.messages) for (const entry of message.entries) sourceChars += entry.content.length;
  if (sourceChars > BOUNDED_LIMITS.sourceChars) return false;
  let outputs = 0;
  for (const message of request.messages) {
    for (const entry of message.entries) {
      const parsed = parser.parse(entry.content);
      if (!parsed.ok) return false;
      const found = plain(parsed.templates, parser.engine.options.outputEscape);
      if (!found.plain) return false;
      outputs += found.outputs;
    }
  }
  if (outputs === 0) return true;
  // Each output writes at most one value of the scope: an input or a declared default, as JSON at worst.
  const valueChars = JSON.stringify(request.inputs).length + JSON.stringify(request.declared).length;
  return sourceChars + outputs * valueChars <= BOUNDED_LIMITS.outputChars;
}
