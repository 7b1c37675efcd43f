/**
 * The Liquid editor (CodeMirror 6 + @codemirror/lang-liquid). Imported dynamically by LiquidEditor, so
 * only the pages that show an editor load it (docs/ui.md: heavy pieces load only where used).
 */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { liquid } from '@codemirror/lang-liquid';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from '@codemirror/view';
import { tags } from '@lezer/highlight';

/** Colours from the design tokens, so both themes keep AA contrast. */
const highlight = HighlightStyle.define([
  { tag: [tags.keyword, tags.controlKeyword, tags.operatorKeyword], color: 'var(--accent-fg)', fontWeight: '600' },
  { tag: [tags.string, tags.number, tags.bool], color: 'var(--ok)' },
  { tag: [tags.variableName, tags.propertyName], color: 'var(--fg-1)', fontWeight: '500' },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: 'var(--warning)' },
  { tag: [tags.comment], color: 'var(--fg-3)', fontStyle: 'italic' },
  { tag: [tags.brace, tags.punctuation, tags.bracket], color: 'var(--fg-3)' },
]);

export interface LiquidEditorOptions {
  parent: HTMLElement;
  doc: string;
  label: string;
  describedBy?: string | undefined;
  onchange: (text: string) => void;
}

export function createLiquidEditor({ parent, doc, label, describedBy, onchange }: LiquidEditorOptions): EditorView {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        EditorView.lineWrapping,
        liquid(),
        syntaxHighlighting(highlight),
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's own escape hatch for keyboard users).
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.contentAttributes.of({
          'aria-label': label,
          ...(describedBy ? { 'aria-describedby': describedBy } : {}),
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onchange(update.state.doc.toString());
        }),
      ],
    }),
  });
}
