// Where a fleet is on one cluster, as words: what the agent reports, the control plane stores
// and the API shows (the protocol carries them as the Phase enum, see ../phase.ts).
export const PHASES = ['Pending', 'Applying', 'Progressing', 'Ready', 'Failed', 'Drifted'] as const;

export type Phase = (typeof PHASES)[number];
