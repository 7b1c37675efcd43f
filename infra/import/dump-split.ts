/**
 * The pieces of a plain-SQL pg_dump file, read line by line as psql would: SQL statements (split at a `;`
 * outside strings, quoted identifiers, dollar quotes and comments), psql meta-commands (a line starting
 * with `\` between statements: `\connect`, `\restrict`…), and the data lines of `COPY … FROM stdin` blocks
 * up to their `\.`. A pure state machine over lines, so a dump of any size streams through it.
 */

export type DumpPiece =
  | { kind: 'statement'; sql: string; line: number }
  | { kind: 'meta'; text: string; line: number }
  | { kind: 'copy-start'; sql: string; line: number }
  | { kind: 'copy-data'; text: string }
  | { kind: 'copy-end'; line: number };

type State =
  | { in: 'code' }
  | { in: 'single'; escapes: boolean }
  | { in: 'double' }
  | { in: 'dollar'; tag: string }
  | { in: 'block-comment'; depth: number };

const IDENT = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;
const COPY_FROM_STDIN = /^COPY\b[\s\S]*\bFROM\s+stdin\b[\s\S]*;$/i;

/** The statement without its leading comments and white space (what a statement is classified by). */
export function statementHead(sql: string): string {
  let rest = sql;
  for (;;) {
    const trimmed = rest.trimStart();
    if (trimmed.startsWith('--')) {
      const end = trimmed.indexOf('\n');
      rest = end < 0 ? '' : trimmed.slice(end + 1);
    } else if (trimmed.startsWith('/*')) {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      let i = 0;
      do {
        if (trimmed.startsWith('/*', i) || trimmed.startsWith('*/', i)) {
          depth += trimmed[i] === '/' ? 1 : -1;
          i += 2;
        } else i++;
      } while (depth > 0 && i < trimmed.length);
      rest = trimmed.slice(i);
    } else return trimmed;
  }
}

export class DumpSplitter {
  #state: State = { in: 'code' };
  #buffer = '';
  /** Whether the buffer holds anything but white space and comments since the last statement ended. */
  #meaningful = false;
  #startLine = 0;
  #copying = false;
  #line = 0;

  /** The pieces one more line (without its line break) completes. */
  push(line: string): DumpPiece[] {
    this.#line++;
    if (this.#copying) {
      if (line === '\\.') {
        this.#copying = false;
        return [{ kind: 'copy-end', line: this.#line }];
      }
      return [{ kind: 'copy-data', text: line }];
    }
    if (this.#state.in === 'code' && !this.#meaningful && line.startsWith('\\')) {
      this.#buffer = '';
      return [{ kind: 'meta', text: line, line: this.#line }];
    }
    const pieces: DumpPiece[] = [];
    if (this.#buffer !== '') this.#buffer += '\n';
    let from = 0;
    let i = 0;
    const take = (end: number) => {
      this.#buffer += line.slice(from, end);
      from = end;
    };
    while (i < line.length) {
      const state = this.#state;
      const ch = line[i] as string;
      if (state.in === 'single' || state.in === 'double') {
        const quote = state.in === 'single' ? "'" : '"';
        if (state.in === 'single' && state.escapes && ch === '\\') i += 2;
        else if (ch === quote && line[i + 1] === quote) i += 2;
        else {
          if (ch === quote) this.#state = { in: 'code' };
          i++;
        }
      } else if (state.in === 'dollar') {
        const end = line.indexOf(state.tag, i);
        if (end < 0) i = line.length;
        else {
          i = end + state.tag.length;
          this.#state = { in: 'code' };
        }
      } else if (state.in === 'block-comment') {
        if (ch === '/' && line[i + 1] === '*') {
          this.#state = { in: 'block-comment', depth: state.depth + 1 };
          i += 2;
        } else if (ch === '*' && line[i + 1] === '/') {
          this.#state = state.depth > 1 ? { in: 'block-comment', depth: state.depth - 1 } : { in: 'code' };
          i += 2;
        } else i++;
      } else if (ch === '-' && line[i + 1] === '-') {
        i = line.length; // a line comment: the rest of the line
      } else if (ch === '/' && line[i + 1] === '*') {
        this.#state = { in: 'block-comment', depth: 1 };
        i += 2;
      } else {
        const before = i > 0 ? (line[i - 1] as string) : '';
        if (!/\s/.test(ch) && !this.#meaningful) {
          this.#meaningful = true;
          this.#startLine = this.#line;
        }
        if (ch === "'") {
          // E'…' strings take backslash escapes; with standard_conforming_strings (pg_dump sets it) others do not.
          const escapes = (before === 'E' || before === 'e') && !IDENT.test(i > 1 ? (line[i - 2] as string) : '');
          this.#state = { in: 'single', escapes };
          i++;
        } else if (ch === '"') {
          this.#state = { in: 'double' };
          i++;
        } else if (ch === '$' && !IDENT.test(before)) {
          const tag = DOLLAR_TAG.exec(line.slice(i))?.[0];
          if (tag) this.#state = { in: 'dollar', tag };
          i += tag ? tag.length : 1;
        } else if (ch === ';') {
          take(i + 1);
          i++;
          pieces.push(this.#finish());
        } else i++;
      }
    }
    take(line.length);
    return pieces;
  }

  /** What is left at the end of the file: a last statement without its `;`, if any. */
  end(): DumpPiece[] {
    if (this.#copying) throw new Error(`the COPY block is not closed by a line "\\." before the end of the file`);
    if (!this.#meaningful) return [];
    return [this.#finish()];
  }

  #finish(): DumpPiece {
    const sql = this.#buffer;
    const line = this.#startLine;
    this.#buffer = '';
    this.#meaningful = false;
    if (COPY_FROM_STDIN.test(statementHead(sql))) {
      this.#copying = true;
      return { kind: 'copy-start', sql, line };
    }
    return { kind: 'statement', sql, line };
  }
}
