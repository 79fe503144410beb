// One kube-apiserver per test cluster, all on the shared etcd; a distinct --etcd-prefix is
// what makes them separate clusters. Plus the small HTTPS client the environment itself
// uses to poll them (spawning kubectl for every poll would cost ~100 ms a time).
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { type ManagedProcess, startProcess } from '../process.ts';
import { toolPath } from '../toolchain.ts';
import type { ClusterPki } from './certs.ts';

export const serviceClusterIpRange = '10.96.0.0/16';

export interface ApiserverOptions {
  binDir: string;
  dir: string;
  name: string;
  port: number;
  etcdUrl: string;
  pki: ClusterPki;
}

export function startApiserver(o: ApiserverOptions): ManagedProcess {
  return startProcess(
    `kube-apiserver (${o.name})`,
    toolPath(o.binDir, 'kube-apiserver'),
    [
      `--etcd-servers=${o.etcdUrl}`,
      `--etcd-prefix=/gitfleet-${o.name}`,
      // These machines have no default route, so the apiserver cannot guess its address.
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${o.port}`,
      // Keeps the apiserver from writing self-signed certificates to /var/run/kubernetes.
      `--cert-dir=${join(o.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${o.pki.servingCert}`,
      `--tls-private-key-file=${o.pki.servingKey}`,
      `--client-ca-file=${o.pki.caCert}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${o.pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${o.pki.serviceAccountKey}`,
      // Charts that real clusters accept (privileged containers) must be accepted here too.
      '--allow-privileged=true',
      '--profiling=false',
    ],
    { logFile: join(o.dir, 'kube-apiserver.log') },
  );
}

export interface ApiResponse {
  status: number;
  body: string;
}

export interface ApiClient {
  request(method: string, path: string, body?: unknown): Promise<ApiResponse>;
}

/** An HTTPS client for one apiserver that authenticates with the admin client certificate. */
export async function apiClient(server: string, pki: ClusterPki): Promise<ApiClient> {
  const [ca, cert, key] = await Promise.all([
    readFile(pki.caCert),
    readFile(pki.adminCert),
    readFile(pki.adminKey),
  ]);
  return {
    request: (method, path, body) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          new URL(path, server),
          {
            method,
            ca,
            cert,
            key,
            timeout: 10_000,
            headers: payload
              ? { 'content-type': 'application/json', accept: 'application/json' }
              : { accept: 'application/json' },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on('error', reject);
        req.end(payload);
      }),
  };
}
