// How a fleet's inventory is written down. The IO layer keeps it in the cluster (one
// ConfigMap per fleet, in the agent's namespace), so the agent can prune after a restart or
// after losing the control plane; this module only turns refs into text and back.
//
// Each entry keeps the version the object was applied with, as Flux's inventory does:
// identity is version-free (see objects.ts), but deleting needs a URL, and the version the
// object was applied with is one the API server served.

import type { ObjectRef } from '../objects.ts';
import { parseRefKey, refKey } from '../objects.ts';

export const INVENTORY_NAME_PREFIX = 'gitfleet-inventory-';
export const INVENTORY_DATA_KEY = 'inventory.json';
export const INVENTORY_FORMAT_VERSION = 1;

export function inventoryName(fleet: string): string {
  return `${INVENTORY_NAME_PREFIX}${fleet}`;
}

interface StoredInventory {
  version: number;
  // [ref key, apiVersion version], sorted by key so equal inventories are equal text.
  entries: [string, string][];
}

export function encodeInventory(refs: readonly ObjectRef[]): string {
  const entries = new Map<string, string>();
  for (const ref of refs) {
    const key = refKey(ref);
    if (!entries.has(key)) entries.set(key, ref.version);
  }
  const stored: StoredInventory = {
    version: INVENTORY_FORMAT_VERSION,
    entries: [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  };
  return JSON.stringify(stored);
}

// Throws on text it cannot read in full: pruning from half an inventory would be worse than
// not pruning, and the caller decides what to do (report, and skip the prune).
export function decodeInventory(text: string): ObjectRef[] {
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`inventory is not JSON: ${(err as Error).message}`);
  }
  if (typeof stored !== 'object' || stored === null || (stored as StoredInventory).version !== 1) {
    throw new TypeError(`inventory has an unknown format (want version ${INVENTORY_FORMAT_VERSION})`);
  }
  const entries = (stored as StoredInventory).entries;
  if (!Array.isArray(entries)) throw new TypeError('inventory has no entries list');
  return entries.map((entry) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new TypeError(`inventory entry is not [key, version]: ${JSON.stringify(entry)}`);
    }
    return { ...parseRefKey(entry[0]), version: entry[1] };
  });
}
