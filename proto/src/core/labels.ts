// The labels and annotations gitfleet puts on, or reads from, objects in the clusters.

/** On every object the agent applies: its fleet, so a fleet's objects can be found (and listed cheaply). */
export const FLEET_LABEL = 'gitfleet.dev/fleet';

/**
 * On each inventory ConfigMap, the fleet it belongs to. Not FLEET_LABEL: the inventory is not
 * one of the fleet's objects, and must not be listed (or pruned) as one.
 */
export const INVENTORY_LABEL = 'gitfleet.dev/inventory';

/** On the agent's credential Secret: the cluster the credential is for. */
export const CLUSTER_LABEL = 'gitfleet.dev/cluster';

/** `gitfleet.dev/prune: disabled` on a live object keeps it when Git drops it. */
export const PRUNE_OPT_OUT_ANNOTATION = 'gitfleet.dev/prune';
export const PRUNE_OPT_OUT_VALUE = 'disabled';
