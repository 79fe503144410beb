// gitfleet events: the control plane's server-sent events, one line each.
import { setTimeout as sleep } from 'node:timers/promises';
import type { GitfleetEvent } from '../api.ts';
import type { CommandSpec, Context } from '../args.ts';
import type { Client, Query } from '../client.ts';
import { parseDuration } from '../duration.ts';
import { ConnectionError, TimeoutError, UsageError } from '../errors.ts';
import { renderData, shortRevision } from '../output.ts';
import { SseParser } from '../sse.ts';

const quote = (v: string) => (/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v));

/** `2026-01-02T03:04:05.678Z  RolloutHalted        fleet=shop stage=prod revision=abc1234 reason="…"` */
export function formatEvent(e: GitfleetEvent): string {
  const fields: [string, string | undefined][] = [
    ['cluster', e.cluster],
    ['fleet', e.fleet],
    ['stage', e.stage],
    ['revision', e.revision ? shortRevision(e.revision) : undefined],
    ['phase', e.phase],
    // An API action: who, how they were known, what, on which name, the answer.
    ['actor', e.actor],
    ['via', e.via],
    ['action', e.action],
    ['object', e.object],
    ['status', e.status === undefined ? undefined : String(e.status)],
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

/** `--since`: a duration back from now (1h), an ISO time, or an event id. */
export function sinceOf(text: string, now = Date.now()): string {
  if (/^\d+-\d+$/.test(text) || !Number.isNaN(Date.parse(text))) return text;
  return new Date(now - parseDuration(text, '--since')).toISOString();
}

/**
 * Reads one connection of the stream, calling `onEvent` for every event, until the server
 * closes it (resolves) or `signal` aborts (resolves too). Resumes after `lastId` when given.
 */
async function readStream(
  client: Client,
  signal: AbortSignal,
  query: Query,
  lastId: string | undefined,
  onEvent: (e: RecordedEvent) => void,
): Promise<void> {
  const res = await client.stream(
    '/api/v1/events',
    signal,
    query,
    lastId ? { 'last-event-id': lastId } : undefined,
  );
  const parser = new SseParser();
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body ?? []) {
      for (const message of parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        let event: RecordedEvent;
        try {
          event = JSON.parse(message.data) as RecordedEvent;
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

type RecordedEvent = GitfleetEvent & { id?: string };

const events: CommandSpec = {
  name: 'events',
  summary: 'Print events from the control plane (registrations, syncs, status changes, rollouts)',
  usage: '[--since 1h] [--follow | --wait] [--fleet F] [--cluster C] [--type T,...] [--limit N]',
  description: [
    'The control plane keeps every event (retention by count and age). Without --follow,',
    'gitfleet prints the history (since --since, oldest first, at most --limit events) and exits.',
    'With --follow it prints the history since --since (none without it), then every new event',
    'until interrupted, resuming where it left off if the stream drops. With --wait it waits for',
    'the next matching event, prints it and exits (exit 5 after --timeout).',
    '-o json prints one JSON object per line.',
  ].join('\n'),
  options: {
    since: { type: 'string', value: 'WHEN', description: 'a duration back (1h), an ISO time or an event id' },
    follow: { type: 'boolean', short: 'f', description: 'keep printing new events until interrupted' },
    wait: { type: 'boolean', description: 'wait for the next matching event, print it, exit' },
    fleet: { type: 'string', value: 'F', description: 'only events of this fleet' },
    cluster: { type: 'string', value: 'C', description: 'only events of this cluster' },
    type: { type: 'string', value: 'T,...', description: 'only these event types, e.g. RolloutHalted' },
    actor: { type: 'string', value: 'NAME', description: 'only the API actions of this caller (the audit)' },
    limit: { type: 'string', value: 'N', description: 'history: at most this many events (default 100)' },
    timeout: {
      type: 'string',
      value: 'DURATION',
      description: 'with --wait: give up after this long (exit 5)',
    },
  },
  examples: [
    'gitfleet events --since 1h --fleet shop',
    'gitfleet events --follow --fleet shop',
    'gitfleet events --wait --type RolloutComplete,RolloutHalted --timeout 30m',
  ],
  minArgs: 0,
  maxArgs: 0,
  async run(ctx, input) {
    const follow = input.bool('follow');
    const wait = input.bool('wait');
    if (follow && wait) throw new UsageError('use --follow or --wait, not both', 'events');
    const timeout = input.string('timeout');
    if (timeout !== undefined && !wait) throw new UsageError('--timeout goes with --wait', 'events');
    const timeoutMs = timeout !== undefined ? parseDuration(timeout, '--timeout') : undefined;
    const limitText = input.string('limit');
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit ${limitText}: use a whole number ≥ 1`, 'events');
    const since = input.string('since');
    const query: Query = {
      fleet: input.string('fleet'),
      cluster: input.string('cluster'),
      type: input.string('type'),
      actor: input.string('actor'),
      ...(since !== undefined ? { since: sinceOf(since) } : {}),
    };
    const client = ctx.client();

    if (!follow && !wait) {
      let printed = 0;
      let cursor = query.since;
      while (printed < limit) {
        const page = await client.get<{ items: RecordedEvent[]; next: string | null }>('/api/v1/events', {
          ...query,
          since: cursor,
          limit: String(Math.min(1000, limit - printed)),
        });
        for (const e of page.items) ctx.io.out(render(ctx, e));
        printed += page.items.length;
        if (!page.next || page.items.length === 0) break;
        cursor = page.next;
      }
      return 0;
    }

    const controller = new AbortController();
    let got: RecordedEvent | undefined;
    let lastId: string | undefined;
    const onEvent = (e: RecordedEvent) => {
      if (e.id) lastId = e.id;
      if (got) return;
      ctx.io.out(render(ctx, e));
      if (wait) {
        got = e;
        controller.abort();
      }
    };

    if (wait) {
      const { since: _since, ...live } = query;
      const timer = timeoutMs !== undefined ? setTimeout(() => controller.abort(), timeoutMs) : undefined;
      try {
        await readStream(client, controller.signal, live, undefined, onEvent);
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      } finally {
        clearTimeout(timer);
      }
      if (got) return 0;
      if (controller.signal.aborted) throw new TimeoutError(`no matching event within ${timeout}`);
      throw new ConnectionError('the control plane closed the event stream before a matching event came');
    }

    // The stream ends when the control plane restarts or a proxy times it out: reconnect with
    // backoff and resume after the last event seen (Last-Event-ID), so nothing is missed.
    // Only the first connection failing is fatal (exit 3).
    let failures = 0;
    for (let first = true; ; first = false) {
      try {
        await readStream(
          client,
          controller.signal,
          lastId ? { ...query, since: undefined } : query,
          lastId,
          onEvent,
        );
        failures = 0;
        ctx.io.err('the control plane closed the event stream; reconnecting\n');
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
