// Rollouts are advanced by re-planning, and re-plans are triggered by commits and status
// reports. A cluster that never reports (agent gone, cluster down) triggers nothing, so its
// progressDeadline would never be noticed: a timer asks this pure check which fleets have a
// deadline that passed and re-plans just those.
import type { FleetPolicy, RolloutState } from '../fleet/index.ts';

/**
 * The stages whose progressing rollout has a cluster of its current wave moved longer ago
 * than the stage's progressDeadline. A re-plan then halts the rollout, or advances it when
 * those clusters turned Ready meanwhile; either way the stage is no longer due.
 */
export function overdueRollouts(
  policy: FleetPolicy | null,
  rollouts: Record<string, RolloutState | undefined>,
  now: number,
): string[] {
  const due: string[] = [];
  for (const stage of policy?.stages ?? []) {
    const rollout = rollouts[stage.name];
    if (!stage.rollout || rollout?.state !== 'progressing') continue;
    const deadlineMs = stage.rollout.progressDeadlineSeconds * 1000;
    const wave = rollout.waves[rollout.currentWave] ?? [];
    const late = wave.some((c) => {
      const movedAt = rollout.movedAt[c];
      return movedAt !== undefined && now - movedAt > deadlineMs;
    });
    if (late) due.push(stage.name);
  }
  return due;
}
