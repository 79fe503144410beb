// The result of one apply, as data: what happened to each object. It is what the agent
// reports (per-object results with reasons) and what the logs print, so it holds no errors
// or live objects, only what survives serialization.

import { OBJECT_ACTIONS, type ObjectAction } from '@gitfleet/proto/core';
import type { ObjectRef } from '../objects.ts';
import { formatRef } from '../objects.ts';

/** The words for what happened to an object, shared with the control plane. */
export type ChangeAction = ObjectAction;
export const CHANGE_ACTIONS: readonly ChangeAction[] = OBJECT_ACTIONS;

export interface ChangeSetEntry {
  ref: ObjectRef;
  action: ChangeAction;
  // Stable CamelCase code for machines, e.g. an ApplyError code or 'OptOutAnnotation'.
  reason?: string;
  // For people.
  message?: string;
}

export interface ChangeSet {
  entries: ChangeSetEntry[];
}

export type ChangeSetSummary = Record<ChangeAction, number>;

export function emptyChangeSet(): ChangeSet {
  return { entries: [] };
}

export function changeEntry(
  ref: ObjectRef,
  action: ChangeAction,
  detail: { reason?: string; message?: string } = {},
): ChangeSetEntry {
  const entry: ChangeSetEntry = { ref, action };
  if (detail.reason !== undefined) entry.reason = detail.reason;
  if (detail.message !== undefined) entry.message = detail.message;
  return entry;
}

// Takes anything shaped like an ApplyError, so a failure is recorded with its code as reason.
export function failedEntry(error: { ref: ObjectRef; code: string; message: string }): ChangeSetEntry {
  return changeEntry(error.ref, 'failed', { reason: error.code, message: error.message });
}

// Stages and the prune each produce a ChangeSet; the report is their concatenation in order.
export function mergeChangeSets(...sets: readonly ChangeSet[]): ChangeSet {
  return { entries: sets.flatMap((s) => s.entries) };
}

export function summarize(cs: ChangeSet): ChangeSetSummary {
  const summary = Object.fromEntries(CHANGE_ACTIONS.map((a) => [a, 0])) as ChangeSetSummary;
  for (const e of cs.entries) summary[e.action] += 1;
  return summary;
}

// True when the apply touched the cluster; unchanged and skipped objects were left alone.
export function hasChanges(cs: ChangeSet): boolean {
  return cs.entries.some(
    (e) => e.action === 'created' || e.action === 'configured' || e.action === 'deleted',
  );
}

export function hasFailures(cs: ChangeSet): boolean {
  return cs.entries.some((e) => e.action === 'failed');
}

export function entriesWith(cs: ChangeSet, action: ChangeAction): ChangeSetEntry[] {
  return cs.entries.filter((e) => e.action === action);
}

// `Deployment/shop/web configured`; failures and skips add why:
// `Deployment/shop/web failed (FieldConflict): ...`.
export function formatEntry(e: ChangeSetEntry): string {
  let line = `${formatRef(e.ref)} ${e.action}`;
  if (e.reason) line += ` (${e.reason})`;
  if (e.message) line += `: ${e.message}`;
  return line;
}

export function formatChangeSet(cs: ChangeSet): string {
  return cs.entries.map(formatEntry).join('\n');
}

// `1 created, 2 configured, 30 unchanged`, leaving out zeros; 'no objects' when empty.
export function formatSummary(summary: ChangeSetSummary): string {
  const parts = CHANGE_ACTIONS.filter((a) => summary[a] > 0).map((a) => `${summary[a]} ${a}`);
  return parts.length > 0 ? parts.join(', ') : 'no objects';
}
