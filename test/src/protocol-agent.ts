// A protocol-level agent for tests: a raw gRPC client that registers, opens the stream,
// reassembles desired states (with the agent's own ChunkAssembler) and acks them, so tests
// see every message on the wire without applying anything.
import { setTimeout as sleep } from 'node:timers/promises';
import { ChunkAssembler, type DesiredState } from '@gitfleet/agent';
import type { AgentServiceClient, ConnectResponse } from '@gitfleet/proto';
import type { ServiceError } from '@grpc/grpc-js';
import { bearer } from './control-plane.ts';

export function registerAgent(client: AgentServiceClient, bootstrapToken: string) {
  return new Promise<{ clusterName: string; credential: string }>((resolve, reject) =>
    client.register(
      { bootstrapToken, agent: { version: 'test', kubernetesVersion: 'v1.35.4', apiVersions: [] } },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

/** A protocol-level agent: opens the stream, collects complete desired states. */
export function openStream(
  client: AgentServiceClient,
  credential: string,
  running: { fleet: string; revision: string; bundleDigest: string }[] = [],
) {
  const stream = client.connect(bearer(credential));
  const assembler = new ChunkAssembler();
  const desired: DesiredState[] = [];
  const raw: ConnectResponse[] = [];
  let ended: ServiceError | null = null;
  const closed = new Promise<ServiceError | null>((resolve) => {
    stream.on('error', (err: ServiceError) => {
      ended = err;
      resolve(err);
    });
    stream.on('end', () => resolve(null));
  });
  stream.on('data', (msg: ConnectResponse) => {
    raw.push(msg);
    if (msg.kind?.$case === 'chunk') {
      const d = assembler.accept(msg.kind.value);
      if (d) {
        desired.push(d);
        stream.write({
          kind: { $case: 'ack', value: { sequence: d.sequence, fleet: d.fleet, bundleDigest: d.digest } },
        });
      }
    }
  });
  stream.write({
    kind: {
      $case: 'hello',
      value: {
        agent: { version: 'test', kubernetesVersion: 'v1.35.4', apiVersions: [] },
        running,
        lastSequence: 0,
      },
    },
  });
  return {
    stream,
    desired,
    raw,
    closed,
    get ended() {
      return ended;
    },
    async waitFor<T>(what: string, pick: () => T | undefined, timeoutMs = 15_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const v = pick();
        if (v !== undefined) return v;
        await sleep(50);
      }
      throw new Error(`timed out waiting for ${what}; received ${raw.length} messages`);
    },
  };
}
