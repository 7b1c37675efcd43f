import { describe, expect, it } from 'vitest';
import { DumpSplitter, statementHead, type DumpPiece } from './dump-split.ts';

const split = (text: string): DumpPiece[] => {
  const splitter = new DumpSplitter();
  return [...text.split('\n').flatMap((line) => splitter.push(line)), ...splitter.end()];
};
const statements = (text: string) => split(text).map((piece) => ('sql' in piece ? statementHead(piece.sql) : piece.kind));

describe('the dump splitter', () => {
  it('splits at a ; outside strings, quoted names, dollar quotes and comments', () => {
    expect(
      statements(
        [
          "INSERT INTO t VALUES ('a;b', 'it''s; fine', E'esc\\'; still', \"odd;name\"); SELECT 1;",
          '-- a comment; not a statement',
          'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;',
          'CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS $body$',
          'BEGIN',
          '  RETURN NEW; -- $$ inside',
          'END;',
          '$body$;',
          '/* a block; /* nested; */ still a comment; */ SELECT $1::int;',
          'SELECT 2',
        ].join('\n'),
      ),
    ).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s; fine', E'esc\\'; still', \"odd;name\");",
      'SELECT 1;',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;',
      'CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN NEW; -- $$ inside\nEND;\n$body$;',
      'SELECT $1::int;',
      'SELECT 2',
    ]);
  });

  it('keeps a string across lines, and a backslash literal outside E strings', () => {
    expect(statements("SELECT 'one;\ntwo\\';\nSELECT 3;")).toEqual(["SELECT 'one;\ntwo\\';", 'SELECT 3;']);
  });

  it('passes COPY … FROM stdin data through as lines up to \\.', () => {
    const pieces = split(['COPY public.t (a, b) FROM stdin;', "1\tit's; -- data", '2\t\\N', '\\.', 'SELECT 1;'].join('\n'));
    expect(pieces).toEqual([
      { kind: 'copy-start', sql: 'COPY public.t (a, b) FROM stdin;', line: 1 },
      { kind: 'copy-data', text: "1\tit's; -- data" },
      { kind: 'copy-data', text: '2\t\\N' },
      { kind: 'copy-end', line: 4 },
      { kind: 'statement', sql: 'SELECT 1;', line: 5 },
    ]);
  });

  it('takes a line starting with a backslash between statements as a psql meta-command', () => {
    expect(split(['\\restrict abc123', 'SELECT 1;', '\\connect blog', "SELECT '\\x';"].join('\n'))).toEqual([
      { kind: 'meta', text: '\\restrict abc123', line: 1 },
      { kind: 'statement', sql: 'SELECT 1;', line: 2 },
      { kind: 'meta', text: '\\connect blog', line: 3 },
      { kind: 'statement', sql: "SELECT '\\x';", line: 4 },
    ]);
  });

  it('refuses a COPY block the file does not close', () => {
    const splitter = new DumpSplitter();
    splitter.push('COPY t FROM stdin;');
    splitter.push('1');
    expect(() => splitter.end()).toThrow(/not closed/);
  });
});
