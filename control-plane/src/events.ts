// Change events, published through Redis pub/sub so that every control-plane replica sees
// every change: the gRPC side pushes new desired state to the agents it holds and closes the
// streams of deleted clusters; the REST side streams events to `/api/v1/events` clients.
import { EventEmitter, once } from 'node:events';
import type { Redis } from 'ioredis';
import type { Keys } from './store/keys.ts';

export type EventType =
  | 'ClusterRegistered'
  | 'ClusterLabelsChanged'
  | 'ClusterDeleted'
  | 'ClusterConnected'
  | 'ClusterDisconnected'
  | 'FleetCreated'
  | 'FleetDeleted'
  | 'FleetSynced'
  | 'FleetError'
  | 'DesiredStateChanged'
  | 'StatusChanged'
  | 'RolloutProgressed'
  | 'RolloutHalted'
  | 'RolloutComplete'
  | 'Promoted';

export interface GitfleetEvent {
  type: EventType;
  cluster?: string;
  fleet?: string;
  stage?: string;
  revision?: string;
  phase?: string;
  reason?: string;
  /** ISO time, set by publish. */
  time?: string;
}

/** The one encoding of an event on the channel; writers that publish from a script use it too. */
export function encodeEvent(event: GitfleetEvent, now = new Date()): string {
  return JSON.stringify({ ...event, time: now.toISOString() });
}

export class Events {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #local = new EventEmitter();
  #subscribed: Promise<unknown> | undefined;

  /** `subscriber` must be a connection of its own: Redis puts it in subscribe mode. */
  constructor(publisher: Redis, subscriber: Redis, keys: Keys) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#channel = keys.channel('events');
    this.#local.setMaxListeners(0);
  }

  /** The Redis channel, for writers that publish inside their own pipeline. */
  get channelName(): string {
    return this.#channel;
  }

  async publish(event: GitfleetEvent): Promise<void> {
    await this.#publisher.publish(this.#channel, encodeEvent(event));
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
