// What commands print: aligned tables and field lists for people (`-o table`, the default),
// the API's objects as JSON or YAML for scripts (`-o json|yaml`). Pure functions; the caller
// writes the returned text.
import { stringify as toYaml } from 'yaml';
import { UsageError } from './errors.ts';

export const FORMATS = ['table', 'json', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

export function parseFormat(value: string | undefined): Format {
  if (value === undefined) return 'table';
  if ((FORMATS as readonly string[]).includes(value)) return value as Format;
  throw new UsageError(`-o ${value}: use one of ${FORMATS.join(', ')}`);
}

export type Cell = string | number | boolean | null | undefined;

/** A cell as one line of text; missing values show as '-'. */
export function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/\s*[\r\n]+\s*/g, ' ');
}

const width = (s: string): number => [...s].length;

/**
 * Columns aligned with three spaces between them, like kubectl: every cell of a column
 * starts at the same character. The last column is not padded (no trailing spaces).
 */
export function renderTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => headers.map((_, i) => cellText(row[i])));
  const widths = headers.map((h, i) => Math.max(width(h), ...text.map((row) => width(row[i]!))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('   ')
      .trimEnd();
  return `${[line(headers), ...text.map(line)].join('\n')}\n`;
}

/** `Name:    value` lines with the values aligned; multi-line values are indented under theirs. */
export function renderFields(fields: [string, Cell][]): string {
  const pad = Math.max(...fields.map(([k]) => width(k))) + 3;
  return fields
    .map(([key, value]) => {
      const label = `${key}:`.padEnd(pad);
      const text = value === null || value === undefined || value === '' ? '-' : String(value);
      return label + text.split('\n').join(`\n${' '.repeat(pad)}`);
    })
    .join('\n')
    .concat('\n');
}

/** Indents every line of a block (for tables nested under a field list). */
export function indent(text: string, by = 2): string {
  return text
    .split('\n')
    .map((l) => (l ? ' '.repeat(by) + l : l))
    .join('\n');
}

/** The API's object as JSON or YAML text. */
export function renderData(format: Exclude<Format, 'table'>, data: unknown): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data);
}

/** Git revisions as people read them: the first 7 characters. */
export function shortRevision(revision: string | null | undefined): string {
  return revision ? revision.slice(0, 7) : '-';
}

/** True when both name the same commit (either may be abbreviated, at least 7 characters). */
export function sameRevision(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  const n = Math.min(a.length, b.length);
  return n >= 7 && a.slice(0, n) === b.slice(0, n);
}

/** `env=prod,region=eu`, sorted by key. */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** kubectl-style age: 42s, 5m, 3h12m, 4d. */
export function formatAge(since: string | null | undefined, now: number = Date.now()): string {
  if (!since) return '-';
  const then = Date.parse(since);
  if (Number.isNaN(then)) return '-';
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const PHASE_ORDER = ['Ready', 'Progressing', 'Applying', 'Pending', 'Drifted', 'Failed', 'Unknown'];

/** Cluster counts by phase: `Ready=2 Failed=1`, in a fixed order. */
export function formatPhases(phases: Record<string, number> | null | undefined): string {
  const rank = (p: string) => {
    const i = PHASE_ORDER.indexOf(p);
    return i === -1 ? PHASE_ORDER.length : i;
  };
  return Object.entries(phases ?? {})
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : 1))
    .map(([p, n]) => `${p}=${n}`)
    .join(' ');
}
