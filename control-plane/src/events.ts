// Change events, published through Redis pub/sub so that every control-plane replica sees
// every change: the gRPC side pushes new desired state to the agents it holds and closes the
// streams of deleted clusters; the REST side streams events to `/api/v1/events` clients.
// On a Redis Cluster this is classic (not sharded) pub/sub: a PUBLISH on any node, from a
// script on the node of the keys it wrote, reaches subscribers on every node.
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { EventLog } from './history/event-log.ts';
import { Outbox, type OutboxOptions } from './history/outbox.ts';
import type { RedisClient } from './store/connect.ts';
import type { Keys } from './store/keys.ts';

export type EventType =
  | 'ClusterRegistered'
  | 'ClusterLabelsChanged'
  | 'ClusterDeleted'
  | 'ClusterConnected'
  | 'ClusterDisconnected'
  | 'FleetCreated'
  | 'FleetUpdated'
  | 'FleetDeleted'
  | 'FleetSynced'
  | 'FleetError'
  | 'DesiredStateChanged'
  | 'StatusChanged'
  | 'RolloutProgressed'
  | 'RolloutHalted'
  | 'RolloutComplete'
  | 'Promoted'
  | 'DriftCorrected'
  | 'NotificationFailed'
  | 'ApiAction';

export interface GitfleetEvent {
  /**
   * Set once, by encodeEvent: every replica sees the same id, so work done per event on every
   * replica (notifications) can be done once.
   */
  id?: string;
  type: EventType;
  cluster?: string;
  fleet?: string;
  stage?: string;
  revision?: string;
  phase?: string;
  reason?: string;
  /** The notification target a NotificationFailed event is about. */
  target?: string;
  /** ApiAction: who called (a token's or identity's name), how they were known, what, the answer. */
  actor?: string;
  via?: string;
  action?: string;
  status?: number;
  /** ApiAction: the name in the path when it is neither a fleet nor a cluster (a token, a target). */
  object?: string;
  /** ISO time, set by publish. */
  time?: string;
}

/** The one encoding of an event on the channel; writers that publish from a script use it too. */
export function encodeEvent(event: GitfleetEvent, now = new Date()): string {
  const { id, ...rest } = event;
  return JSON.stringify({ id: id ?? eventId(now), ...rest, time: now.toISOString() });
}

/** A new event id: the time in ms and 48 random bits (unique, and sorts by time). */
function eventId(now = new Date()): string {
  return `${now.getTime()}-${randomBytes(6).toString('hex')}`;
}

export class Events {
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #channel: string;
  readonly #local = new EventEmitter();
  readonly #log: EventLog;
  /** Where writers that publish from a script keep their events until they are recorded. */
  readonly outbox: Outbox;
  #subscribed: Promise<unknown> | undefined;

  /** `subscriber` must be a connection of its own: Redis puts it in subscribe mode. */
  constructor(
    publisher: RedisClient,
    subscriber: RedisClient,
    keys: Keys,
    log: EventLog,
    outbox: OutboxOptions,
  ) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#channel = keys.channel('events');
    this.#log = log;
    this.outbox = new Outbox(publisher, keys.outboxes(), log, outbox);
    this.#local.setMaxListeners(0);
  }

  /** The history every event is recorded in. */
  get history(): EventLog {
    return this.#log;
  }

  /** The Redis channel, for writers that publish inside their own pipeline. */
  get channelName(): string {
    return this.#channel;
  }

  /** Records the event in the history, then tells every replica. */
  async publish(event: GitfleetEvent): Promise<void> {
    const encoded = encodeEvent(event);
    await this.#log.append([encoded]);
    await this.#publisher.publish(this.#channel, encoded);
  }

  /** Calls `handler` for every event from every replica until the returned function is called. */
  async subscribe(handler: (event: GitfleetEvent) => void): Promise<() => void> {
    if (!this.#subscribed) {
      this.#subscriber.on('message', (channel: string, message: string) => {
        if (channel !== this.#channel) return;
        try {
          this.#local.emit('event', JSON.parse(message) as GitfleetEvent);
        } catch {
          // a malformed message from a foreign publisher is not ours to crash on
        }
      });
      // SUBSCRIBE sent while ioredis still runs its ready check makes that check fail and the
      // connection reconnect unsubscribed: the replica would silently hear nothing.
      this.#subscribed = (
        this.#subscriber.status === 'ready' ? Promise.resolve() : once(this.#subscriber, 'ready')
      ).then(() => this.#subscriber.subscribe(this.#channel));
    }
    await this.#subscribed;
    this.#local.on('event', handler);
    return () => this.#local.off('event', handler);
  }
}
