// Every way the CLI can fail, each with the exit code a script can switch on. The codes are
// listed in `gitfleet --help` (main.ts) and must not change meaning:
//
//   0 ok · 1 API error · 2 usage error · 3 cannot reach the server / not logged in
//   4 rollout halted / promotion refused · 5 timeout

export const EXIT = {
  ok: 0,
  api: 1,
  usage: 2,
  unreachable: 3,
  halted: 4,
  timeout: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with a message for people (stderr) and an exit code for scripts. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** The command line was wrong: unknown command or option, missing or malformed argument. */
export class UsageError extends CliError {
  /** The command whose help explains the right usage, e.g. 'cluster label'. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** No server or token configured, or the server did not answer at all. */
export class ConnectionError extends CliError {
  constructor(message: string) {
    super(message, EXIT.unreachable);
    this.name = 'ConnectionError';
  }
}

/** A rollout stopped on a failed wave. */
export class HaltedError extends CliError {
  constructor(message: string) {
    super(message, EXIT.halted);
    this.name = 'HaltedError';
  }
}

/** Waited longer than allowed (--timeout, or a request the server did not answer in time). */
export class TimeoutError extends CliError {
  constructor(message: string) {
    super(message, EXIT.timeout);
    this.name = 'TimeoutError';
  }
}
