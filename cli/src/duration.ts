// Durations as Go and kubectl write them: 90s, 10m, 1h30m, 500ms. A bare number is refused
// (seconds or minutes? say which).
import { UsageError } from './errors.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or a UsageError naming the option. */
export function parseDuration(text: string, option = 'duration'): number {
  const trimmed = text.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  let parts = 0;
  while (at < trimmed.length) {
    part.lastIndex = at;
    const m = part.exec(trimmed);
    if (!m) break;
    total += Number(m[1]) * UNITS[m[2]!]!;
    at = part.lastIndex;
    parts++;
  }
  if (parts === 0 || at !== trimmed.length) {
    throw new UsageError(
      `${option} ${JSON.stringify(text)} is not a duration: use a number with a unit, e.g. 30s, 10m, 1h30m`,
    );
  }
  if (total <= 0) throw new UsageError(`${option} ${JSON.stringify(text)} must be longer than zero`);
  return Math.round(total);
}

/** 1h30m, 10m, 45s, 500ms: the shortest exact form. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s';
}
