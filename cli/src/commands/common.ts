// Helpers the commands share: print an API object in the chosen format, read a secret from
// stdin (hidden when it is a terminal).
import type { Context, Io } from '../args.ts';
import { UsageError } from '../errors.ts';
import { renderData } from '../output.ts';

/** Prints `data` as JSON/YAML, or what `table` renders for people. */
export function emit(ctx: Context, data: unknown, table: () => string): void {
  ctx.io.out(ctx.format === 'table' ? table() : renderData(ctx.format, data));
}

/** Progress and notes: stdout for people, stderr when stdout carries JSON/YAML for a script. */
export function note(ctx: Context, text: string): void {
  if (ctx.format === 'table') ctx.io.out(text);
  else ctx.io.err(text);
}

async function readAll(stdin: Io['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function readHidden(io: Io, prompt: string): Promise<string> {
  const stdin = io.stdin;
  return new Promise((resolve, reject) => {
    io.err(prompt);
    let value = '';
    stdin.setRawMode?.(true);
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.setRawMode?.(false);
      stdin.off('data', onData);
      stdin.pause();
      io.err('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new UsageError('interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

/**
 * A secret from stdin: piped (`--password-stdin < file`, one trailing newline dropped) or
 * typed at a hidden prompt. Secrets never come from argv, where `ps` shows them.
 */
export async function readSecret(io: Io, what: string, command: string): Promise<string> {
  const raw = io.stdin.isTTY ? await readHidden(io, `${what}: `) : await readAll(io.stdin);
  const secret = raw.replace(/\r?\n$/, '');
  if (secret === '') throw new UsageError(`no ${what.toLowerCase()} on stdin`, command);
  if (secret.includes('\n')) {
    throw new UsageError(`the ${what.toLowerCase()} on stdin spans several lines; give one line`, command);
  }
  return secret;
}
