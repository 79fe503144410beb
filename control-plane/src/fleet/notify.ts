// Who hears what: the `notify:` rules of fleet.yaml, the events they can name and how severe
// each is. Pure: policy.ts reads the rules with the rest of the file, `matchRules` picks the
// targets of an event, and `unknownTargets` checks the rules against the targets the store
// holds (which only the reconciler can read), so a misspelt target is a fleet error too.
import type { EventType, GitfleetEvent } from '../events.ts';
import { type Problem, problem } from './errors.ts';

export type Severity = 'info' | 'warning' | 'error';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error'];

/**
 * The severity of each type of event. A Record over every EventType: a new type of event does
 * not compile until it is given one.
 */
export const EVENT_SEVERITY: Readonly<Record<EventType, Severity>> = {
  ClusterRegistered: 'info',
  ClusterLabelsChanged: 'info',
  ClusterDeleted: 'info',
  ClusterConnected: 'info',
  ClusterDisconnected: 'warning',
  FleetCreated: 'info',
  FleetUpdated: 'info',
  FleetDeleted: 'info',
  FleetSynced: 'info',
  FleetError: 'error',
  DesiredStateChanged: 'info',
  StatusChanged: 'info',
  RolloutProgressed: 'info',
  RolloutHalted: 'error',
  RolloutComplete: 'info',
  Promoted: 'info',
  DriftCorrected: 'warning',
  NotificationFailed: 'error',
  ApiAction: 'info',
};

/**
 * Events no rule in fleet.yaml can ever hear, and why: a rule naming one would wait in vain.
 * (Rules are those of the fleet's fleet.yaml in force; these events happen when there is none.)
 */
export const NOT_NOTIFIABLE: Readonly<Partial<Record<EventType, string>>> = {
  FleetCreated: 'a fleet has no fleet.yaml in force yet when it is created',
  FleetDeleted: 'a deleted fleet has no rules left to be matched against',
  ClusterDeleted: "a deleted cluster is in no fleet's stage any more, so no fleet's rules apply to it",
};

/** The event types a rule may name, in the order of EVENT_SEVERITY. */
export const NOTIFY_EVENT_TYPES: readonly EventType[] = (Object.keys(EVENT_SEVERITY) as EventType[]).filter(
  (t) => !(t in NOT_NOTIFIABLE),
);

export function isNotifyEventType(text: string): text is EventType {
  return (NOTIFY_EVENT_TYPES as readonly string[]).includes(text);
}

export type NotifyRule = {
  /** Name of a notification target (POST /api/v1/notification-targets). */
  target: string;
  /** Absent: every type of event at `severity` or above. */
  events?: EventType[];
  /** Absent: every stage. Events of the whole fleet (a bad commit) match whatever the stages. */
  stages?: string[];
  /** The least severity heard; absent: every severity of the events named. */
  severity?: Severity;
  /** Line of the rule in fleet.yaml, for problems found after parsing (unknownTargets). */
  line?: number;
};

/** How severe an event is: its type's severity, and a cluster turning Failed is an error. */
export function severityOf(event: Pick<GitfleetEvent, 'type' | 'phase'>): Severity {
  if (event.type === 'StatusChanged') {
    if (event.phase === 'Failed') return 'error';
    if (event.phase === 'Drifted') return 'warning';
  }
  return EVENT_SEVERITY[event.type] ?? 'info';
}

export function atLeast(severity: Severity, least: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(least);
}

/**
 * The targets (each once, in rule order) that hear `event` under `rules`. `stage` is the
 * event's stage, or the stage its cluster is in; undefined for events of the whole fleet,
 * which every rule's stage filter lets through. A NotificationFailed event is never sent to
 * the target whose delivery failed: it would fail the same way, and tell of itself again.
 */
export function matchRules(
  rules: readonly NotifyRule[],
  event: Pick<GitfleetEvent, 'type' | 'phase' | 'target'>,
  stage: string | undefined,
): string[] {
  const severity = severityOf(event);
  const out: string[] = [];
  for (const rule of rules) {
    if (out.includes(rule.target)) continue;
    if (rule.events && !rule.events.includes(event.type)) continue;
    if (rule.severity && !atLeast(severity, rule.severity)) continue;
    if (rule.stages && stage !== undefined && !rule.stages.includes(stage)) continue;
    if (event.type === 'NotificationFailed' && event.target === rule.target) continue;
    out.push(rule.target);
  }
  return out;
}

/**
 * Rules whose target the store does not hold, as problems naming fleet.yaml and the rule's
 * line. The reconciler checks a head commit with it: a misspelt target is a bad commit, like
 * a misspelt event type, instead of notifications that silently go nowhere.
 */
export function unknownTargets(
  policy: { notify?: readonly NotifyRule[] | undefined },
  targetNames: Iterable<string>,
  file = 'fleet.yaml',
): Problem[] {
  const known = new Set(targetNames);
  const problems: Problem[] = [];
  for (const rule of policy.notify ?? []) {
    if (known.has(rule.target)) continue;
    const list = [...known].sort();
    problems.push(
      problem(
        'UnknownNotificationTarget',
        file,
        rule.line,
        `notify names target '${rule.target}', which does not exist; create it with POST /api/v1/notification-targets${list.length > 0 ? ` or name one of ${list.join(', ')}` : ' (there is none yet)'}`,
      ),
    );
  }
  return problems;
}
