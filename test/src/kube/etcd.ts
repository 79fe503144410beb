// One etcd member on loopback, shared by every kube-apiserver of the test environment (each
// under its own key prefix), as etcd is the expensive part to run many of.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, type ManagedProcess, startProcess, waitUntil } from '../process.ts';
import { toolPath } from '../toolchain.ts';

export interface Etcd {
  /** Client URL, http://127.0.0.1:PORT */
  url: string;
  process: ManagedProcess;
}

/** Distinct free loopback ports (two parallel freePort() calls may return the same one). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** `ports`: client and peer port, from freePorts() together with the other servers' ports. */
export async function startEtcd(binDir: string, dir: string, ports: [number, number]): Promise<Etcd> {
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const [clientPort, peerPort] = ports;
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess(
    'etcd',
    toolPath(binDir, 'etcd'),
    [
      '--name=gitfleet',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=gitfleet=${peerUrl}`,
      '--initial-cluster-state=new',
      // Test data is thrown away: not waiting for the disk makes every write much faster.
      '--unsafe-no-fsync',
      // A single member elects itself; short raft timings make that (and startup) quicker.
      '--heartbeat-interval=10',
      '--election-timeout=100',
      '--log-level=warn',
    ],
    { logFile: join(dir, 'etcd.log') },
  );
  try {
    await waitUntil(
      `etcd to be healthy at ${url}`,
      async () => {
        const response = await fetch(`${url}/health`);
        return response.ok && ((await response.json()) as { health?: string }).health === 'true';
      },
      { proc, timeoutMs: 30_000, intervalMs: 50 },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, process: proc };
}
