// Limits of the protocol that both sides must agree on: the agent trims what it sends to
// them, the control plane refuses what exceeds them. A refused Hello ends the stream, so an
// agent that sent more than this would never connect.

/** gitfleet.v1.AgentInfo.api_versions: Helm's .Capabilities.APIVersions of the cluster. */
export const API_VERSIONS_LIMITS = {
  /** Entries in the list; a cluster with every common operator installed lists a few thousand. */
  entries: 8192,
  /** "group/version/Kind": a 253-character group, a 63-character version and kind. */
  length: 316,
  /** All entries together: they become arguments of `helm template`, which the kernel bounds. */
  bytes: 512 * 1024,
  /** Characters of API groups, versions and kinds; anything else is not a real entry. */
  entry: /^[A-Za-z0-9][A-Za-z0-9._/-]*$/,
} as const;
