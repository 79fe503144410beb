// The inventories kept in the cluster: one ConfigMap per fleet, `inventoryName(fleet)`, in
// the agent's namespace, labelled INVENTORY_LABEL=<fleet>, holding the refs the fleet applied
// (encodeInventory) and the revision and digest of that apply. It is what lets an agent that
// restarted, or lost the control plane, still prune and know which fleets it ran.
//
// Written with server-side apply under our field manager, so a save is one request whether
// the ConfigMap exists or not. A ConfigMap holds up to 1 MiB: about 15,000 refs.

import { INVENTORY_LABEL } from '@gitfleet/proto/core';
import type { KubeClient, ResourceInfo } from '../kube/client.ts';
import type { KubeObject, ObjectRef } from '../objects.ts';
import { decodeInventory, encodeInventory, INVENTORY_DATA_KEY, inventoryName } from './inventory.ts';

const FLEET_KEY = 'fleet';
const REVISION_KEY = 'revision';
const DIGEST_KEY = 'digest';

const CONFIG_MAPS: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
  verbs: [],
};

export interface InventoryRecord {
  refs: ObjectRef[];
  // The Git revision and bundle digest of the apply that wrote this inventory.
  revision: string;
  digest: string;
}

export interface InventoryStoreOptions {
  fieldManager?: string;
}

export class InventoryStore {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly #fieldManager: string;

  constructor(client: KubeClient, namespace: string, options: InventoryStoreOptions = {}) {
    this.client = client;
    this.namespace = namespace;
    this.#fieldManager = options.fieldManager ?? 'gitfleet';
  }

  // null when the fleet has no inventory here. Throws when the ConfigMap exists but cannot
  // be read in full: pruning from half an inventory would delete the wrong things.
  async load(fleet: string): Promise<InventoryRecord | null> {
    const ref = this.#ref(fleet);
    const cm = await this.client.get(ref);
    if (!cm) return null;
    const data = (cm.data ?? {}) as Record<string, string>;
    const text = data[INVENTORY_DATA_KEY];
    if (text === undefined) {
      throw new Error(
        `inventory ConfigMap ${this.namespace}/${ref.name} has no ${INVENTORY_DATA_KEY}: ` +
          'delete it so the next apply writes it anew (the objects it listed will not be pruned)',
      );
    }
    let refs: ObjectRef[];
    try {
      refs = decodeInventory(text);
    } catch (err) {
      throw new Error(
        `inventory ConfigMap ${this.namespace}/${ref.name} is unreadable (${(err as Error).message}): ` +
          'delete it so the next apply writes it anew (the objects it listed will not be pruned)',
      );
    }
    return { refs, revision: data[REVISION_KEY] ?? '', digest: data[DIGEST_KEY] ?? '' };
  }

  async save(fleet: string, record: InventoryRecord): Promise<void> {
    const ref = this.#ref(fleet);
    const cm: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: ref.name, namespace: this.namespace, labels: { [INVENTORY_LABEL]: fleet } },
      data: {
        [FLEET_KEY]: fleet,
        [REVISION_KEY]: record.revision,
        [DIGEST_KEY]: record.digest,
        [INVENTORY_DATA_KEY]: encodeInventory(record.refs),
      },
    };
    await this.client.apply(cm, ref, CONFIG_MAPS, { fieldManager: this.#fieldManager, force: true });
  }

  // Forgets the fleet (after everything it applied was pruned). No error when absent.
  async remove(fleet: string): Promise<void> {
    await this.client.delete(this.#ref(fleet), CONFIG_MAPS);
  }

  // The fleets with an inventory here, sorted.
  async list(): Promise<string[]> {
    const items = await this.client.list(CONFIG_MAPS, {
      namespace: this.namespace,
      labelSelector: INVENTORY_LABEL,
    });
    const fleets = items
      .map(
        (cm) =>
          ((cm.data ?? {}) as Record<string, string>)[FLEET_KEY] ?? cm.metadata.labels?.[INVENTORY_LABEL],
      )
      .filter((f): f is string => typeof f === 'string' && f !== '');
    return [...new Set(fleets)].sort();
  }

  #ref(fleet: string): ObjectRef {
    if (fleet === '') throw new Error('inventory: the fleet name is empty');
    return {
      group: '',
      version: 'v1',
      kind: 'ConfigMap',
      namespace: this.namespace,
      name: inventoryName(fleet),
    };
  }
}
