// Child process of bench/fanout.ts: one control plane (ControlPlane + REST app listening on
// loopback), alone in its process so that its resident memory and CPU are its own. Started
// with --expose-gc: memory is read after a full collection, so garbage that happens to be
// uncollected at the moment of reading is not charged to the agents.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { buildApp, ControlPlane, loadConfig } from '@gitfleet/control-plane';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { fromParent, toParent } from './child.ts';
import { memoryAfterGc } from './gc.ts';

let cp: ControlPlane | undefined;
let app: FastifyInstance | undefined;
// CPU profiles of one phase (connect, push) at a time, rather than of the whole process
// life: registration and the first render would drown the phase being looked at.
let profiler: Session | undefined;
const events: Record<string, number> = {};

fromParent(async (msg) => {
  switch (msg.type) {
    case 'start': {
      // One process per benchmark run on a prefix of its own: a key of its own is enough.
      const config = loadConfig({
        GITFLEET_SECRET_KEY: randomBytes(32).toString('base64'),
        ...(msg.env as Record<string, string>),
      });
      cp = new ControlPlane(config, pino({ level: 'silent' }));
      await cp.start();
      // What reaches this replica through Redis pub/sub: a push that never arrives at the
      // agents is either not published or not received, and this tells which.
      await cp.events.subscribe((event) => {
        events[event.type] = (events[event.type] ?? 0) + 1;
      });
      app = await buildApp(cp);
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      toParent({
        type: 'started',
        grpcPort: cp.grpcPort,
        httpPort: typeof address === 'object' && address ? address.port : 0,
        caPem: cp.caPem,
      });
      return;
    }
    case 'memory': {
      toParent({ type: 'memory', ...(await memoryAfterGc()), connections: cp?.connections.size ?? 0 });
      return;
    }
    case 'profile-start': {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
      toParent({ type: 'profiling' });
      return;
    }
    case 'profile-stop': {
      const { profile } = (await profiler?.post('Profiler.stop')) ?? {};
      if (profile) writeFileSync(String(msg.file), JSON.stringify(profile));
      profiler?.disconnect();
      profiler = undefined;
      toParent({ type: 'profiled', file: msg.file });
      return;
    }
    case 'render-stats': {
      toParent({ type: 'render-stats', stats: { ...cp?.renderer.stats } });
      return;
    }
    case 'events': {
      toParent({ type: 'events', events: { ...events } });
      return;
    }
    case 'stop': {
      await app?.close();
      await cp?.stop();
      toParent({ type: 'stopped' });
      process.exit(0);
    }
  }
});
