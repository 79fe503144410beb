// The protocol's Action and Health enums and their words (core's ObjectAction, ObjectHealth):
// the agent reports in the enums, the control plane stores and shows the words.
import { Action, Health } from '../gen/gitfleet/v1/agent.ts';
import { OBJECT_ACTIONS, OBJECT_HEALTHS, type ObjectAction, type ObjectHealth } from './core/index.ts';

const ACTION_TO_PROTO: Readonly<Record<ObjectAction, Action>> = {
  created: Action.ACTION_CREATED,
  configured: Action.ACTION_CONFIGURED,
  unchanged: Action.ACTION_UNCHANGED,
  deleted: Action.ACTION_DELETED,
  failed: Action.ACTION_FAILED,
  skipped: Action.ACTION_SKIPPED,
};

const HEALTH_TO_PROTO: Readonly<Record<ObjectHealth, Health>> = {
  Current: Health.HEALTH_CURRENT,
  InProgress: Health.HEALTH_IN_PROGRESS,
  Failed: Health.HEALTH_FAILED,
  Terminating: Health.HEALTH_TERMINATING,
  NotFound: Health.HEALTH_NOT_FOUND,
  Unknown: Health.HEALTH_UNKNOWN,
};

const ACTION_FROM_PROTO = new Map<number, ObjectAction>(OBJECT_ACTIONS.map((a) => [ACTION_TO_PROTO[a], a]));
const HEALTH_FROM_PROTO = new Map<number, ObjectHealth>(OBJECT_HEALTHS.map((h) => [HEALTH_TO_PROTO[h], h]));

export const actionToProto = (action: ObjectAction): Action => ACTION_TO_PROTO[action];
export const healthToProto = (health: ObjectHealth): Health => HEALTH_TO_PROTO[health];

/** Undefined for UNSPECIFIED and numbers that are no action (a newer agent's). */
export const actionFromProto = (action: number): ObjectAction | undefined => ACTION_FROM_PROTO.get(action);
export const healthFromProto = (health: number): ObjectHealth | undefined => HEALTH_FROM_PROTO.get(health);
