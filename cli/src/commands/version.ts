// gitfleet version: this CLI's version and, when a server is configured, the control plane's.
import { readFileSync } from 'node:fs';
import type { CommandSpec } from '../args.ts';
import { Client } from '../client.ts';
import { readConfig, resolveConnection } from '../config.ts';
import { renderFields } from '../output.ts';
import { emit } from './common.ts';

// From the CLI's own manifest rather than the root one (proto/src/version.ts): the CLI does not
// depend on @gitfleet/proto, and its manifest is there wherever the package is installed.
// scripts/set-version.ts writes it and scripts/version.test.ts holds it to the project's.
export const CLI_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const version: CommandSpec = {
  name: 'version',
  summary: "Print the CLI's version and the control plane's (when one is configured)",
  usage: '',
  minArgs: 0,
  maxArgs: 0,
  async run(ctx) {
    let server: { url: string; version: string | null; error?: string } | null = null;
    try {
      const { server: url, token } = resolveConnection(ctx.flags, ctx.env, readConfig(ctx.configFile));
      try {
        const answer = await new Client({ server: url, token, timeoutMs: 5000 }).get<{ version: string }>(
          '/version',
        );
        server = { url, version: answer.version };
      } catch (err) {
        server = { url, version: null, error: (err as Error).message };
      }
    } catch {
      // not logged in: only the client's version
    }
    const data = { client: CLI_VERSION, node: process.version, server };
    emit(ctx, data, () =>
      renderFields([
        ['Client', `${CLI_VERSION} (Node.js ${process.version})`],
        ...(server
          ? [
              [
                'Server',
                `${server.version ?? `unknown (${server.error ?? 'no version'})`} at ${server.url}`,
              ] as [string, string],
            ]
          : []),
      ]),
    );
    return 0;
  },
};

export const versionCommands: CommandSpec[] = [version];
