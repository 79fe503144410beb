// Output of a benchmark: an aligned table on stdout and a JSON file under bench/results/
// (gitignored) holding the machine, the command, the parameters and every measurement, so a
// run can be compared with another later without re-running it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeMachine, type Machine, machine } from './machine.ts';

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');

export type Cell = string | number | null | undefined;

export function formatCell(value: Cell): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
    return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  return value;
}

export function table(headers: string[], rows: Cell[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(formatCell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  // Text left, numbers right: the usual way tables of measurements are read.
  const numeric = headers.map((_, i) => rows.every((r) => typeof r[i] !== 'string'));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}

export class Report {
  readonly scenario: string;
  readonly machine: Machine;
  readonly startedAt = new Date();
  readonly command: string;
  readonly tables: { title: string; headers: string[]; rows: Cell[][] }[] = [];
  readonly notes: string[] = [];
  data: Record<string, unknown> = {};

  constructor(scenario: string, parameters: Record<string, unknown>) {
    this.scenario = scenario;
    this.machine = machine();
    this.command = [
      'node',
      ...process.execArgv,
      relative(process.cwd(), process.argv[1] ?? ''),
      ...process.argv.slice(2),
    ]
      .filter(Boolean)
      .join(' ');
    this.data.parameters = parameters;
    console.log(`# ${scenario}`);
    console.log(describeMachine(this.machine));
    console.log(`parameters: ${JSON.stringify(parameters)}`);
  }

  log(message: string): void {
    console.log(`[${((Date.now() - this.startedAt.getTime()) / 1000).toFixed(1)}s] ${message}`);
  }

  note(message: string): void {
    this.notes.push(message);
    console.log(`note: ${message}`);
  }

  table(title: string, headers: string[], rows: Cell[][]): void {
    this.tables.push({ title, headers, rows });
    console.log(`\n## ${title}\n${table(headers, rows)}\n`);
  }

  /** Writes bench/results/<scenario>-<timestamp>.json and returns its path. */
  write(): string {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = this.startedAt.toISOString().replace(/[:.]/g, '-');
    const file = join(RESULTS_DIR, `${this.scenario}-${stamp}.json`);
    const body = {
      scenario: this.scenario,
      command: this.command,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: this.machine,
      // The load at the end too: a run whose load rose meanwhile shared the CPUs with others.
      loadAverageAtEnd: machine().loadAverage,
      ...this.data,
      tables: this.tables,
      notes: this.notes,
    };
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
    console.log(`results: ${relative(process.cwd(), file)}`);
    return file;
  }
}

export function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function now(): bigint {
  return process.hrtime.bigint();
}
