#!/usr/bin/env node
// gitfleet: the command line for a gitfleet control plane (REST API only). This file reads
// the command line, dispatches to src/commands/*, and turns every failure into a message on
// stderr and an exit code (errors.ts) that scripts can rely on.
import {
  type CommandSpec,
  type Context,
  commandHelp,
  groupHelp,
  type Io,
  parseInput,
  resolve,
  rootHelp,
  type Tree,
} from './args.ts';
import { ApiError, Client } from './client.ts';
import { authCommands } from './commands/auth.ts';
import { clusterGroup } from './commands/cluster.ts';
import { diffCommands } from './commands/diff.ts';
import { eventCommands } from './commands/events.ts';
import { fleetGroup } from './commands/fleet.ts';
import { projectGroup } from './commands/project.ts';
import { promoteCommands } from './commands/promote.ts';
import { tokenGroup } from './commands/token.ts';
import { CLI_VERSION, versionCommands } from './commands/version.ts';
import { configPath, readConfig, resolveConnection } from './config.ts';
import { CliError, EXIT, UsageError } from './errors.ts';
import { parseFormat, renderTable, shortRevision } from './output.ts';

export const COMMANDS: Tree = [
  ...authCommands,
  clusterGroup,
  fleetGroup,
  projectGroup,
  tokenGroup,
  ...promoteCommands,
  ...diffCommands,
  ...eventCommands,
  ...versionCommands,
];

export const HELP_TRAILER = `Exit codes:
  0   success
  1   the API refused the request; its error is printed to stderr as "Code: message"
      (diff: also when something would change)
  2   usage error: unknown command or option, missing or malformed argument
  3   cannot reach the control plane, or not logged in (no server or token configured)
  4   rollout halted (promote/rollback --wait), or promotion refused (PromotionRefused)
  5   timed out (--timeout, or the control plane did not answer a request in time)

Environment:
  GITFLEET_SERVER, GITFLEET_TOKEN   server and token (override the saved ones; flags override these)
  GITFLEET_CONFIG                   config file (default ~/.config/gitfleet/config.json)`;

function commandFor(name: string | undefined): string {
  return name ? `gitfleet ${name} --help` : 'gitfleet --help';
}

function reportError(io: Io, err: unknown): number {
  if (err instanceof ApiError) {
    // Exactly as the API words it, so people can search for it and scripts can match it.
    io.err(`${err.code}: ${err.message}\n`);
    const notReady = (err.details as { notReady?: unknown } | undefined)?.notReady;
    if (Array.isArray(notReady) && notReady.length > 0) {
      const rows = (notReady as { cluster?: string; phase?: string; revision?: string | null }[]).map((c) => [
        c.cluster,
        c.phase,
        shortRevision(c.revision),
      ]);
      io.err(`\nNot ready:\n${renderTable(['CLUSTER', 'PHASE', 'REVISION'], rows)}`);
    }
    // A signed-in session ends with its ID token, which is not refreshed: say how to get another.
    if ((err.details as { reason?: unknown } | undefined)?.reason === 'expired') {
      io.err("Sign in again with 'gitfleet login --sso' (or log in with a new API token).\n");
    }
    return err.exitCode;
  }
  if (err instanceof UsageError) {
    io.err(`error: ${err.message}\nSee '${commandFor(err.command)}'.\n`);
    return err.exitCode;
  }
  if (err instanceof CliError) {
    io.err(`error: ${err.message}\n`);
    return err.exitCode;
  }
  io.err(`error: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.api;
}

async function runCommand(
  command: CommandSpec,
  rest: string[],
  io: Io,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const input = parseInput(command, rest);
  const format = parseFormat(input.string('output'));
  const flags = { server: input.string('server'), token: input.string('token') };
  const configFile = configPath(env);
  let client: Client | undefined;
  const ctx: Context = {
    io,
    format,
    env,
    flags,
    configFile,
    client() {
      client ??= new Client(resolveConnection(flags, env, readConfig(configFile)));
      return client;
    },
  };
  return (await command.run(ctx, input)) ?? 0;
}

/** Runs one command line; resolves to the exit code. */
export async function main(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const args = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
    const resolved = resolve(args, COMMANDS);
    switch (resolved.kind) {
      case 'root':
        if (resolved.version) {
          io.out(`gitfleet ${CLI_VERSION}\n`);
          return 0;
        }
        if (resolved.help) {
          io.out(rootHelp(COMMANDS, HELP_TRAILER));
          return 0;
        }
        io.err(rootHelp(COMMANDS, HELP_TRAILER));
        return EXIT.usage;
      case 'group':
        if (resolved.help) {
          io.out(groupHelp(resolved.group));
          return 0;
        }
        io.err(`error: "gitfleet ${resolved.group.name}" needs a command\n\n${groupHelp(resolved.group)}`);
        return EXIT.usage;
      case 'command':
        if (resolved.help) {
          io.out(commandHelp(resolved.command));
          return 0;
        }
        return await runCommand(resolved.command, resolved.rest, io, env);
    }
  } catch (err) {
    return reportError(io, err);
  }
}

if (import.meta.main) {
  // `gitfleet events -f | head` closes the pipe: that is the reader's way of saying enough.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  const code = await main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stdin: process.stdin,
  });
  process.exit(code);
}
