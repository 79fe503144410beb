// What happened to one object and how it is, as words: what the agent reports, the control
// plane stores and the API shows (the protocol carries them as enums, see ../object.ts).

/** The outcome of an apply for one object (a ChangeSet entry). */
export const OBJECT_ACTIONS = ['created', 'configured', 'unchanged', 'deleted', 'failed', 'skipped'] as const;
export type ObjectAction = (typeof OBJECT_ACTIONS)[number];

/** An object's health in kstatus's terms. */
export const OBJECT_HEALTHS = [
  'Current',
  'InProgress',
  'Failed',
  'Terminating',
  'NotFound',
  'Unknown',
] as const;
export type ObjectHealth = (typeof OBJECT_HEALTHS)[number];
