/**
 * The operator CLI's command line: what each command takes (its forms, notes and options), its help
 * and the parsing of its arguments. Wrong usage is a UsageError: a message, then exit code 2.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { SCOPES } from '@llmops/kit/http/access';

interface Command {
  /** Each form of the command with what it does, as `help` shows them. */
  forms: [usage: string, what: string][];
  /** What `help <command>` adds. */
  notes?: string[];
  options: ParseArgsOptionsConfig;
}

/** The emulator's port unless `--port` says otherwise: clear of the services' ports (base 7400 to 7406). */
export const EMULATOR_PORT = 7410;

export const COMMANDS = {
  status: {
    forms: [['status', 'is everything up? (reads runtime.json in the data folder)']],
    notes: ['The data folder is LLMOPS_DATA_DIR, default .data in the repository: set it to the one `npm start` uses.'],
    options: {},
  },
  db: {
    forms: [
      ['db status', 'which SQL files the database has applied'],
      ['db apply', 'apply sql/ (as npm start does)'],
      ['db roles --deployment NAME', "create or reset each service's login role and print its DATABASE_URL once"],
      [
        'db roles --deployment NAME --passwords-from-env',
        "the same with each service's password from LLMOPS_DB_PASSWORD_<SERVICE> (as the compose file does), printing none",
      ],
    ],
    notes: [
      'NAME: lowercase letters, digits and _ (the role of a service is llmops_<service>_<NAME>).',
      '--passwords-from-env reads LLMOPS_DB_PASSWORD_GATEWAY, _REGISTRY, _PROMPT, _RUNNER and _WORKFLOW (docs/deployment.md).',
    ],
    options: { deployment: { type: 'string' }, 'passwords-from-env': { type: 'boolean' } },
  },
  account: {
    forms: [
      [
        'account create --email E --name N --role admin|editor|viewer [--password-stdin]',
        'a new account (its password from stdin, else one is generated and printed once)',
      ],
      ['account setup-link', 'the first-run link, while no account exists'],
    ],
    notes: ['The email, name and password follow the same rules as in the dashboard (a password: 12 to 256 characters).'],
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    },
  },
  token: {
    forms: [
      [
        'token create --role R --name NAME [--account EMAIL] [--scopes a,b] [--expires-days N]',
        "a new API token, printed once (without --account: for the role's automation account)",
      ],
      ['token revoke ID', 'revoke an API token at once'],
    ],
    notes: [
      `Scopes: ${SCOPES.join(', ')} (default: everything the role may).`,
      '--expires-days N: the token stops working after N days (a whole number from 1 to 36500); without it, never.',
    ],
    options: {
      role: { type: 'string' },
      name: { type: 'string' },
      account: { type: 'string' },
      scopes: { type: 'string' },
      'expires-days': { type: 'string' },
    },
  },
  key: {
    forms: [
      [
        'key rotate [--drop-previous]',
        'new master key; re-encrypt every provider key under it (docs/providers.md, "Rotating the master key")',
      ],
    ],
    options: { 'drop-previous': { type: 'boolean' } },
  },
  emulator: {
    forms: [
      [
        'emulator [--port N]',
        'a local stand-in for OpenAI, Anthropic and Ollama, to try LLM Ops without a key (docs/providers.md, "Trying without a key")',
      ],
    ],
    notes: [
      `--port N: the port to listen on (default ${EMULATOR_PORT}; 0 takes any free one). It listens on 127.0.0.1 until Ctrl-C.`,
      'It is never registered as a provider by itself: add it in the dashboard with the base URLs it prints.',
      'Its models are not real models: they answer "You said: <your last message>".',
    ],
    options: { port: { type: 'string' } },
  },
  import: {
    forms: [
      [
        'import legacy --from postgres://…/blog [--apply] [--summary FILE] [--batch N] [--source NAME]',
        'bring a legacy BlogForge database into LLM Ops (a dry run without --apply; docs/migration.md)',
      ],
      [
        'import legacy --from ./blog_backup.sql [--apply] [--summary FILE] [--batch N] [--source NAME]',
        'the same from a plain-SQL pg_dump file, loaded into a scratch database on the system’s server and dropped',
      ],
    ],
    notes: [
      'The legacy database is opened read only: the importer never writes to it.',
      'Without --apply nothing changes: the report says what --apply would import, skip (with the reason) and leave to you.',
      'Run it against a running `npm start` (or with REGISTRY_URL, PROMPT_URL, RUNNER_URL and LLMOPS_INTERNAL_SECRET set, and DATABASE_URL for a dump file). Running it again imports nothing twice; a run that failed or was killed is finished by running it again.',
      '--summary FILE: also write the summary as JSON (default: legacy-import-summary.json in the data folder).',
      '--batch N: legacy interactions sent to the runner N at a time, each batch kept once sent (default 100, at most 500).',
      '--source NAME: the name imported rows are recorded under (default: the legacy database’s name, or the one the dump was taken of); a run finds what earlier runs imported by it, so give the first run’s name when the legacy database was restored under another.',
    ],
    options: {
      from: { type: 'string' },
      apply: { type: 'boolean' },
      summary: { type: 'string' },
      batch: { type: 'string' },
      source: { type: 'string' },
    },
  },
  backup: {
    forms: [['backup FILE', 'copy the stopped embedded install (its database, secrets and master keys) into FILE']],
    notes: [
      'Only for the embedded default, and only while it is stopped: stop `npm start` first (the copy is then consistent).',
      'FILE holds every secret of the install (mode 0600): keep it as safe as the data folder. It must not exist yet.',
      'With DATABASE_URL, back up that server with its own tools (pg_dump, pg_basebackup, PITR): docs/deployment.md.',
    ],
    options: {},
  },
  restore: {
    forms: [['restore FILE', 'put a backup back into the data folder (stopped); what it replaces is kept aside']],
    notes: [
      'Only while nothing runs on the data folder. The data it replaces is moved into before-restore-<time>/ there, never deleted.',
      'Then `npm start` runs on the restored data (and applies any newer sql/ files, as on every start).',
      'With DATABASE_URL, restore that server with its own tools (pg_restore, PITR): docs/deployment.md.',
    ],
    options: {},
  },
  help: {
    forms: [['help [COMMAND]', "this help, or one command's (also `COMMAND --help`)"]],
    options: {},
  },
} satisfies Record<string, Command>;

export type CommandName = keyof typeof COMMANDS;

const PREFIX = 'npm run llmops --';

/** Wrong usage: said with what to run for help; exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

export function globalHelp(): string {
  const forms = Object.values(COMMANDS).flatMap((command) => command.forms);
  return [
    `LLM Ops operator CLI: ${PREFIX} <command> [options]`,
    '',
    ...forms.map(([usage, what]) => `  ${usage}\n      ${what}`),
    '',
    `\`${PREFIX} help <command>\` (or \`<command> --help\`) says more about one command.`,
    'The database is DATABASE_URL (an admin role), else the embedded server of a running `npm start`,',
    'found through runtime.json in the data folder (LLMOPS_DATA_DIR, default .data).',
    'Exit codes: 0 done, 1 failed, 2 wrong usage.',
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const command: Command = COMMANDS[name];
  return [
    ...command.forms.flatMap(([usage, what]) => [`${PREFIX} ${usage}`, `    ${what}`]),
    ...(command.notes ? ['', ...command.notes] : []),
  ].join('\n');
}

export interface CommandLine {
  command: CommandName | undefined;
  /** The words after the command: its subcommand, an id. */
  words: string[];
  values: Record<string, string | boolean | undefined>;
  help: boolean;
}

/**
 * Parses `argv` with the options of the command it names. A negative number is taken as an option's
 * value (`--expires-days -1`), so the command can say what it expects instead of the parser's
 * "argument is ambiguous".
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const name = argv.find((arg) => !arg.startsWith('-'));
  if (name !== undefined && !isCommand(name)) {
    throw new UsageError(
      `Unknown command "${name}"; the commands are ${Object.keys(COMMANDS).join(', ')}. See \`${PREFIX} help\`.`,
    );
  }
  const options: ParseArgsOptionsConfig = { ...(name ? COMMANDS[name].options : {}), help: { type: 'boolean', short: 'h' } };
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const option = arg.startsWith('--') ? options[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const unknown = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec(message)?.[1] : undefined;
    const problem = unknown ? `Unknown option ${unknown}${name ? ` for ${name}` : ''}.` : message.replace(/\.?$/, '.');
    throw new UsageError(`${problem} See \`${PREFIX} help${name ? ` ${name}` : ''}\`.`);
  }
  const [, ...words] = parsed.positionals;
  // No option is `multiple`, so every value is a string or a boolean.
  const values = parsed.values as Record<string, string | boolean | undefined>;
  return { command: name, words, values, help: values.help === true };
}

/** A usage error of `command`: the problem, then that command's help. */
export function usage(command: CommandName, problem: string): UsageError {
  return new UsageError(`${problem}\n\n${commandHelp(command)}`);
}
