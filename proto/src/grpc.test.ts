// Proves the generated stubs work end to end over a real grpc-js channel on loopback: a
// unary call, and a bidirectional Connect stream carrying oneof messages both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { credentials, Server, ServerCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  AgentServiceClient,
  type AgentServiceServer,
  AgentServiceService,
  type ConnectResponse,
  type RegisterResponse,
} from './index.ts';

test('Register and Connect over the generated grpc-js stubs', async (t) => {
  const server = new Server();
  const implementation: AgentServiceServer = {
    register(call, callback) {
      if (call.request.bootstrapToken !== 'gfb_good') {
        callback({ code: 16, details: 'bootstrap token unknown or expired' } as ServiceError, null);
        return;
      }
      callback(null, { clusterName: 'edge-1', credential: 'gfc_secret' });
    },
    connect(call) {
      call.on('data', (msg) => {
        if (msg.kind?.$case === 'hello') {
          call.write({ kind: { $case: 'synced', value: { sequence: msg.kind.value.lastSequence + 1 } } });
          call.end();
        }
      });
    },
    reportStatus(_call, callback) {
      callback(null, { sequence: 1, duplicate: false });
    },
  };
  server.addService(AgentServiceService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const client = new AgentServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.after(() => {
    client.close();
    server.forceShutdown();
  });

  const registered = await new Promise<RegisterResponse>((resolve, reject) =>
    client.register(
      {
        bootstrapToken: 'gfb_good',
        agent: { version: '0.1.0', kubernetesVersion: 'v1.35.4', apiVersions: ['v1', 'apps/v1'] },
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
  assert.deepEqual(registered, { clusterName: 'edge-1', credential: 'gfc_secret' });

  const refused = await new Promise<ServiceError>((resolve) =>
    client.register({ bootstrapToken: 'gfb_bad' }, (err) => resolve(err as ServiceError)),
  );
  assert.equal(refused.code, 16);
  assert.match(refused.details, /expired/);

  const stream = client.connect();
  const received: ConnectResponse[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('data', (m: ConnectResponse) => received.push(m));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.write({ kind: { $case: 'hello', value: { running: [], lastSequence: 41 } } });
  await ended;
  assert.deepEqual(received, [{ kind: { $case: 'synced', value: { sequence: 42 } } }]);
});
