// gitfleet promote | rollback, and --wait: follow the stage's rollout until it completes
// (exit 0), halts (exit 4) or --timeout passes (exit 5).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fleet, FleetStatus, Promotion } from '../api.ts';
import type { CommandSpec, Context, Input } from '../args.ts';
import { type Client, path } from '../client.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { CliError, EXIT, HaltedError, TimeoutError, UsageError } from '../errors.ts';
import { sameRevision, shortRevision } from '../output.ts';
import { emit, note } from './common.ts';

export interface Progress {
  state: 'waiting' | 'progressing' | 'complete' | 'halted';
  /** One line for people, e.g. `prod: wave 1/2, 1/2 clusters Ready at abc1234`. */
  line: string;
}

/**
 * Where the rollout of `revision` into `stage` stands, from GET /fleets/{name} (the stage's
 * rollout and cluster count) and, when given, GET /fleets/{name}/status (which clusters are
 * Ready at exactly that revision; without it the stage's Ready count is used).
 */
export function rolloutProgress(
  fleet: Pick<Fleet, 'stages'>,
  status: Pick<FleetStatus, 'items'> | undefined,
  stage: string,
  revision: string,
): Progress {
  const short = shortRevision(revision);
  const s = fleet.stages.find((x) => x.name === stage);
  if (!s) return { state: 'waiting', line: `${stage}: waiting for the stage to appear in the fleet` };
  const r = s.rollout;
  if (!r || !sameRevision(r.revision, revision)) {
    return { state: 'waiting', line: `${stage}: waiting for the rollout of ${short} to start` };
  }
  const ready = status
    ? status.items.filter(
        (i) => i.stage === stage && i.phase === 'Ready' && sameRevision(i.appliedRevision, revision),
      ).length
    : (s.phases.Ready ?? 0);
  const counts = `${ready}/${s.clusters} clusters Ready at ${short}`;
  if (r.state === 'complete') return { state: 'complete', line: `${stage}: rollout complete, ${counts}` };
  if (r.state === 'halted') {
    // The API's reason says what halted and why, in its own words.
    const why = r.reason ?? `rollout of ${short} halted (no reason given)`;
    return { state: 'halted', line: `${stage}: wave ${r.wave}/${r.waves}: ${why}` };
  }
  return { state: 'progressing', line: `${stage}: wave ${r.wave}/${r.waves}, ${counts}` };
}

export async function waitForRollout(
  ctx: Context,
  client: Client,
  options: { fleet: string; stage: string; revision: string; timeoutMs: number; intervalMs: number },
): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const fleet = await client.get<Fleet>(path`/api/v1/fleets/${options.fleet}`);
    const status = await client.get<FleetStatus>(path`/api/v1/fleets/${options.fleet}/status`);
    const progress = rolloutProgress(fleet, status, options.stage, options.revision);
    if (progress.state === 'halted') throw new HaltedError(progress.line);
    if (progress.line !== last) {
      note(ctx, `${progress.line}\n`);
      last = progress.line;
    }
    if (progress.state === 'complete') return 0;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new TimeoutError(
        `timed out after ${formatDuration(options.timeoutMs)} waiting for the rollout of ${shortRevision(options.revision)} to ${options.stage} (${last})`,
      );
    }
    await sleep(Math.min(options.intervalMs, left));
  }
}

const waitOptions = {
  wait: { type: 'boolean', description: 'follow the rollout until it completes (exit 0) or halts (exit 4)' },
  timeout: {
    type: 'string',
    value: 'DURATION',
    description: 'give up waiting after this long, exit 5 (default 10m)',
  },
  interval: {
    type: 'string',
    value: 'DURATION',
    description: 'how often to poll while waiting (default 2s)',
  },
} as const;

function waitSettings(input: Input, command: string): { timeoutMs: number; intervalMs: number } | undefined {
  const timeout = input.string('timeout');
  const interval = input.string('interval');
  if (!input.bool('wait')) {
    if (timeout !== undefined || interval !== undefined) {
      throw new UsageError('--timeout and --interval go with --wait', command);
    }
    return undefined;
  }
  return {
    timeoutMs: parseDuration(timeout ?? '10m', '--timeout'),
    intervalMs: parseDuration(interval ?? '2s', '--interval'),
  };
}

export function authorName(author: Promotion['author']): string | undefined {
  if (!author) return undefined;
  if (typeof author === 'string') return author;
  return author.name ?? author.email;
}

/** `Promoted prod of fleet shop to abc1234 (from staging, commit def5678 by alice)` and the commit subject. */
export function describePromotion(p: Promotion, verb: string, fleet: string): string {
  const who = authorName(p.author);
  const notes = [
    p.from ? `from ${p.from}` : undefined,
    p.commit ? `commit ${shortRevision(p.commit)}${who ? ` by ${who}` : ''}` : undefined,
  ].filter(Boolean);
  const lines = [
    `${verb} ${p.stage} of fleet ${fleet} to ${shortRevision(p.revision)}${notes.length ? ` (${notes.join(', ')})` : ''}`,
  ];
  const subject = p.message?.split('\n')[0];
  if (subject) lines.push(`  ${subject}`);
  return `${lines.join('\n')}\n`;
}

const promote: CommandSpec = {
  name: 'promote',
  summary: 'Promote a revision into a stage (a commit to fleet.yaml), optionally following the rollout',
  usage: 'FLEET STAGE [--revision R] [--reason TEXT] [--wait] [--timeout 10m]',
  description: [
    'Without --revision, the stage takes the revision of the stage it requires (or the one before',
    'it). A stage with `requires` refuses revisions that are not Ready on every cluster of the',
    'required stage: exit 4 and the clusters that are not.',
  ].join('\n'),
  options: {
    revision: { type: 'string', value: 'R', description: 'the commit to promote (full or abbreviated)' },
    reason: { type: 'string', value: 'TEXT', description: 'why, recorded in the promotion commit' },
    ...waitOptions,
  },
  examples: ['gitfleet promote shop prod --reason "release 42" --wait --timeout 15m'],
  minArgs: 2,
  maxArgs: 2,
  async run(ctx, input) {
    const [fleet, stage] = input.args as [string, string];
    const wait = waitSettings(input, 'promote');
    const revision = input.string('revision');
    const reason = input.string('reason');
    const client = ctx.client();
    const p = await client.post<Promotion>(path`/api/v1/fleets/${fleet}/promotions`, {
      stage,
      ...(revision !== undefined ? { revision } : {}),
      ...(reason !== undefined ? { reason } : {}),
    });
    emit(ctx, p, () => describePromotion(p, 'Promoted', fleet));
    if (!wait) return 0;
    return waitForRollout(ctx, client, { fleet, stage, revision: p.revision, ...wait });
  },
};

const rollback: CommandSpec = {
  name: 'rollback',
  summary: 'Roll a stage back to the revision it ran before (a revert commit), optionally waiting',
  usage: 'FLEET STAGE [--reason TEXT] [--wait] [--timeout 10m]',
  options: {
    reason: { type: 'string', value: 'TEXT', description: 'why, recorded in the rollback commit' },
    ...waitOptions,
  },
  minArgs: 2,
  maxArgs: 2,
  async run(ctx, input) {
    const [fleet, stage] = input.args as [string, string];
    const wait = waitSettings(input, 'rollback');
    const client = ctx.client();
    const reason = input.string('reason');
    const p = await client.post<Promotion>(path`/api/v1/fleets/${fleet}/rollbacks`, {
      stage,
      ...(reason !== undefined ? { reason } : {}),
    });
    emit(ctx, p, () => describePromotion({ ...p, stage: p.stage ?? stage }, 'Rolled back', fleet));
    if (!wait) return 0;
    if (!p.revision) {
      throw new CliError(
        'the API did not say which revision the rollback goes to, so there is nothing to wait for',
        EXIT.api,
      );
    }
    return waitForRollout(ctx, client, { fleet, stage, revision: p.revision, ...wait });
  },
};

export const promoteCommands: CommandSpec[] = [promote, rollback];
