/**
 * A small Markdown reader for the editors' preview: headings, paragraphs, lists, quotes, code blocks and
 * **strong**, *emphasis*, `code` and [links](https://…). It returns blocks of text runs, never HTML, so
 * the preview cannot run what a value contains (the page's CSP allows no inline script anyway).
 */
export type Inline = { kind: 'text' | 'strong' | 'em' | 'code'; text: string } | { kind: 'link'; text: string; href: string };
export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; inline: Inline[] }
  | { kind: 'paragraph' | 'quote'; inline: Inline[] }
  | { kind: 'list'; ordered: boolean; items: Inline[][] }
  | { kind: 'code'; text: string };

const INLINE = /(\*\*[^*]+\*\*|\*[^*\s][^*]*\*|`[^`]+`|\[[^\]]+\]\([^)\s]+\))/;

export function inline(text: string): Inline[] {
  const runs: Inline[] = [];
  for (const part of text.split(INLINE)) {
    if (!part) continue;
    if (part.startsWith('**') && part.endsWith('**') && part.length > 4) runs.push({ kind: 'strong', text: part.slice(2, -2) });
    else if (part.startsWith('`') && part.endsWith('`') && part.length > 2) runs.push({ kind: 'code', text: part.slice(1, -1) });
    else if (part.startsWith('*') && part.endsWith('*') && part.length > 2) runs.push({ kind: 'em', text: part.slice(1, -1) });
    else {
      const link = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(part);
      if (link && /^https?:\/\//i.test(link[2] ?? '')) runs.push({ kind: 'link', text: link[1] ?? '', href: link[2] ?? '' });
      else runs.push({ kind: 'text', text: part });
    }
  }
  return runs;
}

export function blocks(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: Block[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) out.push({ kind: 'paragraph', inline: inline(paragraph.join(' ')) });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !(lines[i] ?? '').startsWith('```'); i++) code.push(lines[i] ?? '');
      out.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      out.push({ kind: 'heading', level: (heading[1]?.length ?? 1) as 1, inline: inline(heading[2] ?? '') });
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1] ?? '');
      const last = out.at(-1);
      if (last?.kind === 'list' && last.ordered === ordered) last.items.push(inline(item[2] ?? ''));
      else out.push({ kind: 'list', ordered, items: [inline(item[2] ?? '')] });
      continue;
    }
    if (line.startsWith('>')) {
      flush();
      out.push({ kind: 'quote', inline: inline(line.replace(/^>\s?/, '')) });
      continue;
    }
    if (line.trim() === '') flush();
    else paragraph.push(line.trim());
  }
  flush();
  return out;
}
