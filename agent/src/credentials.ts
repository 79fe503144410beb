// The cluster credential lives in a Kubernetes Secret in the agent's namespace, so a
// restarted agent needs no bootstrap token (which is single-use and has expired by then).
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

const KEY = 'credential';

export class CredentialStore {
  readonly #api: CoreV1Api;
  readonly #namespace: string;
  readonly #name: string;

  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#namespace = namespace;
    this.#name = name;
  }

  get location(): string {
    return `Secret ${this.#namespace}/${this.#name}`;
  }

  async load(): Promise<string | null> {
    try {
      const secret = await this.#api.readNamespacedSecret({ name: this.#name, namespace: this.#namespace });
      const value = secret.data?.[KEY];
      return value ? Buffer.from(value, 'base64').toString('utf8') : null;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async save(credential: string, cluster: string): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: this.#name,
        namespace: this.#namespace,
        labels: { 'app.kubernetes.io/name': 'gitfleet-agent', 'gitfleet.dev/cluster': cluster },
      },
      data: { [KEY]: Buffer.from(credential).toString('base64') },
    };
    try {
      await this.#api.createNamespacedSecret({ namespace: this.#namespace, body });
    } catch (err) {
      if (statusOf(err) === 404) {
        // Run outside the chart (which creates it), the agent makes its own namespace.
        await this.#api.createNamespace({ body: { metadata: { name: this.#namespace } } }).catch((e) => {
          if (statusOf(e) !== 409) throw e;
        });
        await this.#api.createNamespacedSecret({ namespace: this.#namespace, body });
        return;
      }
      if (statusOf(err) !== 409) throw err;
      await this.#api.replaceNamespacedSecret({ name: this.#name, namespace: this.#namespace, body });
    }
  }

  async delete(): Promise<void> {
    try {
      await this.#api.deleteNamespacedSecret({ name: this.#name, namespace: this.#namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e.code ?? e.statusCode ?? e.response?.statusCode;
}
