// The cluster credential lives in a Kubernetes Secret in the agent's namespace, so a
// restarted agent needs no bootstrap token (which is single-use and has expired by then).
import { CLUSTER_LABEL } from '@gitfleet/proto/core';
import type { KubeClient, KubeRequest, KubeResponse } from './kube/client.ts';

const KEY = 'credential';

export class CredentialStore {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #name: string;

  constructor(client: KubeClient, namespace: string, name: string) {
    this.#client = client;
    this.#namespace = namespace;
    this.#name = name;
  }

  get location(): string {
    return `Secret ${this.#namespace}/${this.#name}`;
  }

  get #secrets(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/secrets`;
  }

  get #secret(): string {
    return `${this.#secrets}/${encodeURIComponent(this.#name)}`;
  }

  async load(): Promise<string | null> {
    const res = await this.#call({ method: 'GET', path: this.#secret }, 'read', [200, 404]);
    if (res.status === 404) return null;
    const value = (res.body as { data?: Record<string, string> }).data?.[KEY];
    return value ? Buffer.from(value, 'base64').toString('utf8') : null;
  }

  async save(credential: string, cluster: string): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: this.#name,
        namespace: this.#namespace,
        labels: { 'app.kubernetes.io/name': 'gitfleet-agent', [CLUSTER_LABEL]: cluster },
      },
      data: { [KEY]: Buffer.from(credential).toString('base64') },
    };
    const create = () => this.#call({ method: 'POST', path: this.#secrets, body }, 'create', [201, 404, 409]);
    let res = await create();
    if (res.status === 404) {
      // Run outside the chart (which creates it), the agent makes its own namespace.
      await this.#call(
        {
          method: 'POST',
          path: '/api/v1/namespaces',
          body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.#namespace } },
        },
        `create the namespace ${this.#namespace} for`,
        [201, 409],
      );
      res = await create();
    }
    if (res.status === 409) await this.#call({ method: 'PUT', path: this.#secret, body }, 'replace', [200]);
    else if (res.status !== 201) throw this.#error('create', res);
  }

  async delete(): Promise<void> {
    await this.#call({ method: 'DELETE', path: this.#secret }, 'delete', [200, 202, 404]);
  }

  async #call(req: KubeRequest, action: string, expected: number[]): Promise<KubeResponse> {
    const res = await this.#client.request(req);
    if (!expected.includes(res.status)) throw this.#error(action, res);
    return res;
  }

  // The API server's message (e.g. RBAC's "cannot create resource secrets"), never the body
  // itself: it could hold the credential.
  #error(action: string, res: KubeResponse): Error {
    const message =
      (res.body as { message?: string } | undefined)?.message ??
      (typeof res.body === 'string' ? res.body.slice(0, 200) : '');
    return new Error(`cannot ${action} ${this.location}: HTTP ${res.status}: ${message}`);
  }
}
