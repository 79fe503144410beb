// What a notification says: what happened, where (fleet, stage, cluster), at which revision,
// and a link to the fleet in the API; one line for webhooks, Slack mrkdwn for Slack. Pure.
// A message stands for one event or, coalesced, for `count` events of one kind on one cluster
// in a window ("12 drift corrections on cluster eu-1 in 30 s").
import type { EventType, GitfleetEvent } from '../events.ts';
import { type Severity, severityOf } from '../fleet/notify.ts';
import { formatDuration } from '../fleet/policy.ts';
import { shortRevision } from '../fleet/revision.ts';

export interface NotificationInput {
  /** The latest event the message stands for (the only one when count is 1). */
  event: GitfleetEvent;
  /** How many events it stands for, ≥ 1. */
  count: number;
  /** Time of the first of them, when count > 1. */
  firstTime?: string | undefined;
  /** The coalescing window, for "… in 30 s". */
  windowSeconds: number;
  /** The fleet whose rules sent it (the event's, or one its cluster is in). */
  fleet: string;
  /** The event's stage, or the stage its cluster is in. */
  stage?: string | undefined;
  /** The revision in force, for events that carry none. */
  revision?: string | undefined;
  /** The fleet in the API: <public URL>/api/v1/fleets/<name>. */
  link: string;
}

/** Each type's title (one event) and plural noun (several). */
const WORDS: Record<EventType, [title: string, plural: string]> = {
  ClusterRegistered: ['Cluster registered', 'cluster registrations'],
  ClusterLabelsChanged: ['Cluster labels changed', 'label changes'],
  ClusterDeleted: ['Cluster deleted', 'cluster deletions'],
  ClusterConnected: ['Cluster connected', 'connections'],
  ClusterDisconnected: ['Cluster disconnected', 'disconnections'],
  FleetCreated: ['Fleet created', 'fleet creations'],
  FleetUpdated: ['Fleet changed', 'fleet changes'],
  FleetDeleted: ['Fleet deleted', 'fleet deletions'],
  FleetSynced: ['Fleet synced', 'syncs'],
  FleetError: ['Fleet error', 'fleet errors'],
  DesiredStateChanged: ['Desired state changed', 'desired-state changes'],
  StatusChanged: ['Status changed', 'status changes'],
  RolloutProgressed: ['Rollout progressed', 'rollout steps'],
  RolloutHalted: ['Rollout halted', 'rollout halts'],
  RolloutComplete: ['Rollout complete', 'completed rollouts'],
  Promoted: ['Promoted', 'promotions'],
  DriftCorrected: ['Drift corrected', 'drift corrections'],
  NotificationFailed: ['Notification failed', 'failed notifications'],
  ApiAction: ['API action', 'API actions'],
};

const MAX_REASON = 1000;

/** Credentials in URLs (`https://user:token@host`) never leave in a message. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1[redacted]@');
}

function reasonOf(event: GitfleetEvent): string | undefined {
  const reason = event.reason?.trim();
  if (!reason) return undefined;
  const clean = redactUrlCredentials(reason);
  return clean.length > MAX_REASON ? `${clean.slice(0, MAX_REASON)}…` : clean;
}

function duration(seconds: number): string {
  return seconds < 60 ? `${seconds} s` : formatDuration(seconds);
}

function titleOf(input: NotificationInput): string {
  const [title, plural] = WORDS[input.event.type] ?? [input.event.type, `${input.event.type} events`];
  return input.count > 1 ? `${input.count} ${plural}` : title;
}

function revisionOf(input: NotificationInput): string | undefined {
  return input.event.revision || input.revision || undefined;
}

/** The plain line: for webhooks' `message`, logs and anything that is not Slack. */
export function messageLine(input: NotificationInput): string {
  const { event, count } = input;
  const revision = revisionOf(input);
  const where = [
    `fleet ${input.fleet}`,
    input.stage ? `stage ${input.stage}` : null,
    count > 1 ? null : event.cluster ? `cluster ${event.cluster}` : null,
    revision ? `revision ${shortRevision(revision)}` : null,
  ].filter(Boolean);
  const head =
    count > 1
      ? `${titleOf(input)}${event.cluster ? ` on cluster ${event.cluster}` : ''} in ${duration(input.windowSeconds)}`
      : titleOf(input);
  const reason = reasonOf(event);
  return `${head}: ${where.join(', ')}${reason ? ` — ${count > 1 ? 'last: ' : ''}${reason.replace(/\s*\n\s*/g, '; ')}` : ''} (${input.link})`;
}

// Slack asks for these three to be escaped in text; everything else is taken as written.
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK_ICON: Record<Severity, string> = {
  error: ':red_circle:',
  warning: ':warning:',
  info: ':large_blue_circle:',
};

/** A Slack incoming-webhook payload: `{ text }` in mrkdwn. */
export function slackPayload(input: NotificationInput): { text: string } {
  const { event, count } = input;
  const revision = revisionOf(input);
  const code = (s: string) => `\`${slackEscape(s)}\``;
  const parts = [
    `${SLACK_ICON[severityOf(event)]} *${slackEscape(titleOf(input))}*${count > 1 && event.cluster ? ` on cluster ${code(event.cluster)} in ${duration(input.windowSeconds)}` : count > 1 ? ` in ${duration(input.windowSeconds)}` : ''}`,
    `fleet <${input.link}|${slackEscape(input.fleet)}>`,
    input.stage ? `stage ${code(input.stage)}` : null,
    count === 1 && event.cluster ? `cluster ${code(event.cluster)}` : null,
    revision ? `revision ${code(shortRevision(revision))}` : null,
  ].filter(Boolean);
  const reason = reasonOf(event);
  const quote = reason
    ? `\n${slackEscape(`${count > 1 ? 'last: ' : ''}${reason}`)
        .split('\n')
        .map((line) => `> ${line}`)
        .join('\n')}`
    : '';
  return { text: `${parts.join(' · ')}${quote}` };
}

/** A generic webhook's JSON body: the (latest) event, its severity, the message line and the count. */
export function webhookPayload(input: NotificationInput): Record<string, unknown> {
  const reason = reasonOf(input.event);
  return {
    ...input.event,
    ...(reason !== undefined ? { reason } : {}),
    fleet: input.fleet,
    ...(input.stage ? { stage: input.stage } : {}),
    ...(revisionOf(input) ? { revision: revisionOf(input) } : {}),
    severity: severityOf(input.event),
    count: input.count,
    ...(input.count > 1 && input.firstTime ? { firstTime: input.firstTime } : {}),
    message: messageLine(input),
    link: input.link,
  };
}
