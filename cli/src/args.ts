// The command line: which command the words name, its options (node:util parseArgs, strict),
// the number of arguments, and the help text of every level. Pure: nothing here prints or
// exits; mistakes are UsageErrors (exit 2) that name the command whose help to read.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { Client } from './client.ts';
import { UsageError } from './errors.ts';
import type { Format } from './output.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. URL. */
  value?: string;
  description: string;
}

export type Options = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** What a command receives: its arguments and options, read through typed getters. */
export class Input {
  readonly args: string[];
  readonly values: Values;

  constructor(args: string[], values: Values) {
    this.args = args;
    this.values = values;
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  list(name: string): string[] {
    const v = this.values[name];
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  }
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
}

export interface Context {
  io: Io;
  format: Format;
  env: NodeJS.ProcessEnv;
  /** --server and --token as given on the command line. */
  flags: { server?: string | undefined; token?: string | undefined };
  configFile: string;
  /** A client for the configured server; throws ConnectionError (exit 3) when not logged in. */
  client(): Client;
}

export interface CommandSpec {
  /** The words that name it: 'cluster list'. */
  name: string;
  summary: string;
  /** What follows the name in the usage line: 'NAME [-l key=value ...]'. */
  usage: string;
  description?: string;
  examples?: string[];
  options?: Options;
  minArgs: number;
  maxArgs: number;
  /** Resolves to the exit code (0 when nothing else is said). */
  run(ctx: Context, input: Input): Promise<number | undefined>;
}

export interface Group {
  name: string;
  summary: string;
  commands: CommandSpec[];
}

export type Tree = (CommandSpec | Group)[];

const isGroup = (node: CommandSpec | Group): node is Group => 'commands' in node;

export const GLOBAL_OPTIONS: Options = {
  output: { type: 'string', short: 'o', value: 'FORMAT', description: 'table (default), json or yaml' },
  server: {
    type: 'string',
    value: 'URL',
    description: 'control plane URL (else $GITFLEET_SERVER, else login)',
  },
  token: { type: 'string', value: 'TOKEN', description: 'API token (else $GITFLEET_TOKEN, else login)' },
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
};

/** Global options that take a value as the next word (so that word is not a command). */
const VALUE_FLAGS = new Set(
  Object.entries(GLOBAL_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]),
);

export type Resolved =
  | { kind: 'root'; help: boolean; version: boolean; rest: string[] }
  | { kind: 'group'; group: Group; help: boolean; rest: string[] }
  | { kind: 'command'; command: CommandSpec; help: boolean; rest: string[] };

/**
 * Finds the command the leading words name. Global options may come anywhere; command
 * options come after the command's words. Everything that is not a command word is
 * returned in `rest`, in order, for parseInput.
 */
export function resolve(argv: string[], tree: Tree): Resolved {
  const rest: string[] = [];
  let group: Group | undefined;
  let command: CommandSpec | undefined;
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (word.startsWith('-') && word !== '-') {
      if (word === '--help' || word === '-h') help = true;
      if (word === '--version' && !group && !command) version = true;
      rest.push(word);
      if (VALUE_FLAGS.has(word) && i + 1 < argv.length) rest.push(argv[++i]!);
      continue;
    }
    if (command) {
      rest.push(word);
      continue;
    }
    const nodes: Tree = group ? group.commands : tree;
    const node = nodes.find((n) => n.name.split(' ').at(-1) === word);
    if (!node) {
      if (group) {
        throw new UsageError(`unknown command "${group.name} ${word}"`, group.name);
      }
      throw new UsageError(`unknown command "${word}"`, '');
    }
    if (isGroup(node)) group = node;
    else command = node;
  }
  if (command) return { kind: 'command', command, help, rest };
  if (group) return { kind: 'group', group, help, rest };
  return { kind: 'root', help, version, rest: rest.filter((w) => w !== '--version') };
}

function toParseArgs(options: Options): ParseArgsOptionsConfig {
  const out: ParseArgsOptionsConfig = {};
  for (const [name, o] of Object.entries(options)) {
    out[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  return out;
}

/** Parses the command's options (strictly) and checks the number of arguments. */
export function parseInput(command: CommandSpec, rest: string[]): Input {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: toParseArgs({ ...GLOBAL_OPTIONS, ...command.options }),
      allowPositionals: true,
      strict: true,
    }) as { values: Values; positionals: string[] };
  } catch (err) {
    // parseArgs words it well; drop its advice about '--' which rarely applies here.
    const message = (err as Error).message.replace(/;? ?To specify a positional argument.*$/s, '');
    throw new UsageError(message, command.name);
  }
  const n = parsed.positionals.length;
  if (n < command.minArgs) {
    const missing = command.usage.split(' ').filter((w) => /^[A-Z]/.test(w))[n] ?? 'an argument';
    throw new UsageError(`missing ${missing}`, command.name);
  }
  if (n > command.maxArgs) {
    const extra = parsed.positionals.slice(command.maxArgs).join(' ');
    throw new UsageError(`unexpected argument${n - command.maxArgs > 1 ? 's' : ''}: ${extra}`, command.name);
  }
  return new Input(parsed.positionals, parsed.values);
}

function optionLines(options: Options): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return [flag, o.description] as const;
  });
  const pad = Math.max(...rows.map(([f]) => f.length)) + 3;
  return rows.map(([f, d]) => `  ${f.padEnd(pad)}${d}`).join('\n');
}

export function commandHelp(command: CommandSpec): string {
  const parts = [
    `Usage: gitfleet ${command.name}${command.usage ? ` ${command.usage}` : ''}`,
    '',
    command.summary,
  ];
  if (command.description) parts.push('', command.description);
  if (command.options && Object.keys(command.options).length > 0) {
    parts.push('', 'Options:', optionLines(command.options));
  }
  parts.push('', 'Global options:', optionLines(GLOBAL_OPTIONS));
  if (command.examples?.length) parts.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return `${parts.join('\n')}\n`;
}

function commandList(nodes: Tree, prefix = ''): string {
  const rows = nodes.map((n) => [prefix + n.name.split(' ').at(-1)!, n.summary] as const);
  const pad = Math.max(...rows.map(([n]) => n.length)) + 3;
  return rows.map(([n, s]) => `  ${n.padEnd(pad)}${s}`).join('\n');
}

export function groupHelp(group: Group): string {
  return `${[
    `Usage: gitfleet ${group.name} COMMAND [options]`,
    '',
    group.summary,
    '',
    'Commands:',
    commandList(group.commands),
    '',
    `Run 'gitfleet ${group.name} COMMAND --help' for a command's arguments and options.`,
  ].join('\n')}\n`;
}

export function rootHelp(tree: Tree, trailer: string): string {
  return `${[
    'Usage: gitfleet COMMAND [options]',
    '',
    'gitfleet drives a gitfleet control plane over its REST API: register clusters, create',
    'fleets from Git, watch their status, promote revisions between stages and roll back.',
    '',
    'Commands:',
    commandList(tree),
    '',
    'Global options:',
    optionLines(GLOBAL_OPTIONS),
    '',
    trailer,
    '',
    "Run 'gitfleet COMMAND --help' for more about a command.",
  ].join('\n')}\n`;
}
