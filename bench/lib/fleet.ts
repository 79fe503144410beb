// What the scenarios that run a control plane with many simulated agents share: the quick
// start's manifests as a fleet, and REST calls to the control plane with a token.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The quick start's manifests (examples/quickstart: a Namespace, a ConfigMap naming the
 * cluster, a Deployment and a Service) as repository files under `manifests/`: every cluster
 * renders a bundle of its own (${cluster.name}), as real fleets do.
 */
export function quickstartManifests(): Record<string, string> {
  const dir = join(import.meta.dirname, '..', '..', 'examples', 'quickstart', 'manifests');
  return Object.fromEntries(
    readdirSync(dir).map((f) => [`manifests/${f}`, readFileSync(join(dir, f), 'utf8')]),
  );
}

/**
 * The fan-out scenarios' plain-YAML fleet: the quick start's manifests, one stage of every
 * cluster, and a measured commit that changes the ConfigMap (which names each cluster).
 */
export function plainFanoutFleet(): { files: Record<string, string>; push: Record<string, string> } {
  const fleetYaml = `manifests: ./manifests
stages:
  - name: dev
    selector: { matchLabels: { bench: fanout } }
substitute:
  namespace: podinfo-\${stage}
`;
  const configYaml = (message: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo-config
  namespace: \${namespace}
data:
  PODINFO_UI_MESSAGE: "${message} from \${cluster.name} (\${stage})"
`;
  return {
    files: {
      'fleet.yaml': fleetYaml,
      ...quickstartManifests(),
      'manifests/config.yaml': configYaml('hello'),
    },
    push: { 'manifests/config.yaml': configYaml('pushed') },
  };
}

/** One REST call to a control plane on loopback; a string body is sent as is (a signed webhook). */
export async function rest(
  port: number,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
