// gitfleet events: the control plane's server-sent events, one line each.
import { setTimeout as sleep } from 'node:timers/promises';
import type { GitfleetEvent } from '../api.ts';
import type { CommandSpec, Context } from '../args.ts';
import type { Client } from '../client.ts';
import { parseDuration } from '../duration.ts';
import { ConnectionError, TimeoutError } from '../errors.ts';
import { renderData, shortRevision } from '../output.ts';
import { SseParser } from '../sse.ts';

export interface EventFilter {
  fleet?: string | undefined;
  cluster?: string | undefined;
  types?: string[] | undefined;
}

export function matchesEvent(e: GitfleetEvent, f: EventFilter): boolean {
  if (f.fleet !== undefined && e.fleet !== f.fleet) return false;
  if (f.cluster !== undefined && e.cluster !== f.cluster) return false;
  if (f.types?.length && !f.types.includes(e.type)) return false;
  return true;
}

const quote = (v: string) => (/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v));

/** `2026-01-02T03:04:05.678Z  RolloutHalted        fleet=shop stage=prod revision=abc1234 reason="…"` */
export function formatEvent(e: GitfleetEvent): string {
  const fields: [string, string | undefined][] = [
    ['cluster', e.cluster],
    ['fleet', e.fleet],
    ['stage', e.stage],
    ['revision', e.revision ? shortRevision(e.revision) : undefined],
    ['phase', e.phase],
    ['reason', e.reason],
  ];
  const rest = fields
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${quote(v!)}`)
    .join(' ');
  return `${e.time ?? new Date().toISOString()}  ${e.type.padEnd(19)}  ${rest}`.trimEnd();
}

function render(ctx: Context, e: GitfleetEvent): string {
  if (ctx.format === 'json') return `${JSON.stringify(e)}\n`;
  if (ctx.format === 'yaml') return `---\n${renderData('yaml', e)}`;
  return `${formatEvent(e)}\n`;
}

/**
 * Reads one connection of the stream, calling `onEvent` for every event, until the server
 * closes it (resolves) or `signal` aborts (resolves too).
 */
async function readStream(
  client: Client,
  signal: AbortSignal,
  onEvent: (e: GitfleetEvent) => void,
): Promise<void> {
  const res = await client.stream('/api/v1/events', signal);
  const parser = new SseParser();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body ?? []) {
      for (const message of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        let event: GitfleetEvent;
        try {
          event = JSON.parse(message.data) as GitfleetEvent;
        } catch {
          continue;
        }
        if (typeof event.type !== 'string') event.type = message.event;
        onEvent(event);
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    // The connection broke mid-stream: treat it like the server closing it.
    if ((err as Error).name !== 'TypeError' && (err as Error).name !== 'AbortError') throw err;
  }
}

const events: CommandSpec = {
  name: 'events',
  summary: 'Print events from the control plane (registrations, syncs, status changes, rollouts)',
  usage: '[--follow] [--fleet F] [--cluster C] [--type T,...]',
  description: [
    'The API streams events as they happen (it keeps no history). Without --follow, gitfleet',
    'waits for the next matching event, prints it and exits (exit 5 after --timeout). With',
    '--follow it prints every matching event until interrupted, reconnecting if the stream',
    'drops. -o json prints one JSON object per line.',
  ].join('\n'),
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing events until interrupted' },
    fleet: { type: 'string', value: 'F', description: 'only events of this fleet' },
    cluster: { type: 'string', value: 'C', description: 'only events of this cluster' },
    type: { type: 'string', value: 'T,...', description: 'only these event types, e.g. RolloutHalted' },
    timeout: { type: 'string', value: 'DURATION', description: 'without --follow: give up after this long' },
  },
  examples: [
    'gitfleet events --follow --fleet shop',
    'gitfleet events --type RolloutComplete,RolloutHalted --timeout 30m',
  ],
  minArgs: 0,
  maxArgs: 0,
  async run(ctx, input) {
    const filter: EventFilter = {
      fleet: input.string('fleet'),
      cluster: input.string('cluster'),
      types: input
        .string('type')
        ?.split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    };
    const follow = input.bool('follow');
    const timeout = input.string('timeout');
    const timeoutMs = timeout !== undefined ? parseDuration(timeout, '--timeout') : undefined;
    const client = ctx.client();
    const controller = new AbortController();
    let got: GitfleetEvent | undefined;
    const onEvent = (e: GitfleetEvent) => {
      if (got && !follow) return;
      if (!matchesEvent(e, filter)) return;
      ctx.io.out(render(ctx, e));
      if (!follow) {
        got = e;
        controller.abort();
      }
    };

    if (!follow) {
      const timer = timeoutMs !== undefined ? setTimeout(() => controller.abort(), timeoutMs) : undefined;
      try {
        await readStream(client, controller.signal, onEvent);
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      } finally {
        clearTimeout(timer);
      }
      if (got) return 0;
      if (controller.signal.aborted) throw new TimeoutError(`no matching event within ${timeout}`);
      throw new ConnectionError('the control plane closed the event stream before a matching event came');
    }

    // The stream ends when the control plane restarts or a proxy times it out: reconnect
    // with backoff. Only the first connection failing is fatal (exit 3).
    let failures = 0;
    for (let first = true; ; first = false) {
      try {
        await readStream(client, controller.signal, onEvent);
        failures = 0;
        ctx.io.err(
          'the control plane closed the event stream; reconnecting (events in between are missed)\n',
        );
      } catch (err) {
        if (first || !(err instanceof ConnectionError || err instanceof TimeoutError)) throw err;
        failures++;
        ctx.io.err(`${err.message}; retrying\n`);
      }
      await sleep(Math.min(10_000, 250 * 2 ** failures));
    }
  },
};

export const eventCommands: CommandSpec[] = [events];
