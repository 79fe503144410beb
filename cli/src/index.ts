// @gitfleet/cli as a library: the REST client, config handling and output helpers the
// `gitfleet` command is built from, and `main` to run a command line in-process.
export type * from './api.ts';
export type { CommandSpec, Context, Group, Io } from './args.ts';
export { ApiError, Client, type ClientOptions } from './client.ts';
export {
  type Connection,
  configPath,
  normalizeServer,
  readConfig,
  resolveConnection,
  type StoredConfig,
  writeConfig,
} from './config.ts';
export { formatDuration, parseDuration } from './duration.ts';
export { CliError, ConnectionError, EXIT, HaltedError, TimeoutError, UsageError } from './errors.ts';
export { applyLabelChanges, parseLabelChanges, parseLabels } from './labels.ts';
export { COMMANDS, main } from './main.ts';
export { type Format, renderFields, renderTable } from './output.ts';
export { type ServerSentEvent, SseParser } from './sse.ts';
