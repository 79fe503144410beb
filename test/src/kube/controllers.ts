// What turns an apiserver into a cluster where workloads become Ready: the real
// kube-controller-manager (Deployments -> ReplicaSets -> Pods, service accounts, namespace
// deletion, node lifecycle), the real kube-scheduler, and kwok, which plays the kubelet for
// one fake Node: pods bound to it are marked Running and Ready without running anything.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ManagedProcess, startProcess } from '../process.ts';
import { toolPath } from '../toolchain.ts';
import { serviceClusterIpRange } from './apiserver.ts';
import type { ClusterPki } from './certs.ts';

const kwokStages = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url));

export const fakeNodeName = 'kwok-node-0';

export interface ControllerOptions {
  binDir: string;
  dir: string;
  name: string;
  kubeconfig: string;
  pki: ClusterPki;
}

export async function startControllers(o: ControllerOptions): Promise<ManagedProcess[]> {
  const kwokHome = join(o.dir, 'kwok-home');
  await mkdir(kwokHome, { recursive: true });
  const procs: ManagedProcess[] = [];
  try {
    procs.push(
      startProcess(
        `kube-controller-manager (${o.name})`,
        toolPath(o.binDir, 'kube-controller-manager'),
        [
          `--kubeconfig=${o.kubeconfig}`,
          // Nothing needs its metrics or health endpoints; not serving avoids port clashes.
          '--bind-address=127.0.0.1',
          '--secure-port=0',
          '--leader-elect=false',
          '--controllers=*',
          '--use-service-account-credentials=true',
          // Each controller's own credentials cost a few requests at startup; the default
          // client-side limit (20/s) stretched that to ~5 s per cluster.
          '--kube-api-qps=500',
          '--kube-api-burst=1000',
          `--service-account-private-key-file=${o.pki.serviceAccountKey}`,
          `--root-ca-file=${o.pki.caCert}`,
          // So that CertificateSigningRequests get signed, as in a real cluster.
          `--cluster-signing-cert-file=${o.pki.caCert}`,
          `--cluster-signing-key-file=${o.pki.caKey}`,
          `--cluster-name=${o.name}`,
          `--service-cluster-ip-range=${serviceClusterIpRange}`,
          '--profiling=false',
        ],
        { logFile: join(o.dir, 'kube-controller-manager.log') },
      ),
    );
    procs.push(
      startProcess(
        `kube-scheduler (${o.name})`,
        toolPath(o.binDir, 'kube-scheduler'),
        [
          `--kubeconfig=${o.kubeconfig}`,
          '--bind-address=127.0.0.1',
          '--secure-port=0',
          '--leader-elect=false',
          '--profiling=false',
        ],
        { logFile: join(o.dir, 'kube-scheduler.log') },
      ),
    );
    procs.push(
      startProcess(
        `kwok (${o.name})`,
        toolPath(o.binDir, 'kwok'),
        [
          `--kubeconfig=${o.kubeconfig}`,
          `--config=${kwokStages}`,
          '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          // The heartbeat stage we load renews node leases; kwok only does so with a duration.
          '--node-lease-duration-seconds=40',
          // Room for more fake pod IPs than kwok's default /24.
          '--cidr=10.244.0.0/16',
        ],
        // kwok also loads ~/.kwok/kwok.yaml when it exists: a private HOME keeps a
        // developer's own kwok configuration out of the tests.
        { logFile: join(o.dir, 'kwok.log'), env: { ...process.env, HOME: kwokHome } },
      ),
    );
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
  return procs;
}

/** The Node object kwok manages (by its annotation); pods get scheduled onto it. */
export function fakeNode(): object {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: fakeNodeName,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        type: 'kwok',
        'kubernetes.io/hostname': fakeNodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
    },
    // Nodes keep the status they are created with; kwok then keeps it Ready.
    status: { allocatable: resources, capacity: resources },
  };
}

interface NodeStatus {
  spec?: { taints?: { key: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * True once the node is Ready (kwok) and the node lifecycle controller has lifted the
 * not-ready taint that every new node starts with (so the scheduler may use it).
 */
export function nodeIsSchedulable(node: NodeStatus): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const tainted = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/')) ?? false;
  return ready && !tainted;
}
