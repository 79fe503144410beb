// Problems found in what people wrote in Git (fleet.yaml, manifests) or sent to the API.
// Each has a stable `code` that scripts and the REST layer can switch on, and a message that
// stands on its own: where (file:line), which object, what is wrong and what to change.
// Pure functions return lists of problems, so one bad commit reports every error at once;
// misuse by a caller (unknown stage, malformed argument) is thrown as a FleetError.

export type Problem = {
  /** Stable, PascalCase like the API's error codes: 'UnknownKey', 'DuplicateObject', ... */
  code: string;
  /** Path of the file at fault, relative to the repository (fleet.yaml: as given by the caller). */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** Starts with `file:line: ` so it can be logged or shown as is. */
  message: string;
};

export class FleetError extends Error {
  readonly code: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  /** Every problem behind this error (at least one when it came from a file). */
  readonly problems: Problem[];

  constructor(code: string, message: string, problems: Problem[] = []) {
    super(message);
    this.name = 'FleetError';
    this.code = code;
    this.file = problems[0]?.file;
    this.line = problems[0]?.line;
    this.problems = problems;
  }

  /** One error for a list of problems: the first one's code, every message, one per line. */
  static fromProblems(problems: Problem[]): FleetError {
    const first = problems[0];
    if (!first) throw new Error('FleetError.fromProblems needs at least one problem');
    return new FleetError(first.code, problems.map((p) => p.message).join('\n'), problems);
  }
}

/** Builds a Problem whose message is prefixed with `file:line: `. */
export function problem(code: string, file: string, line: number | undefined, message: string): Problem {
  const where = line !== undefined ? `${file}:${line}` : file;
  return { code, file, ...(line !== undefined ? { line } : {}), message: `${where}: ${message}` };
}
