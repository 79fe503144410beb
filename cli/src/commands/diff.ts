// gitfleet diff FLEET [--revision R] [--stage S] [--cluster C]: what a commit or branch would
// change in each cluster, compared by the clusters' agents with a server-side dry-run. Exit 0
// when nothing would change, 1 when something would (or a cluster could not be compared), as
// `argocd app diff` and `diff` do, so a CI job can post "what this pull request does to prod".
import type { FleetDiff } from '../api.ts';
import type { CommandSpec } from '../args.ts';
import { path } from '../client.ts';
import { shortRevision } from '../output.ts';
import { emit } from './common.ts';

const MARK: Record<FleetDiff['clusters'][number]['objects'][number]['change'], string> = {
  created: '+',
  changed: '~',
  deleted: '-',
  unchanged: '=',
  failed: '!',
};

/** For people: per cluster a summary line, then each object that would change, with its diff. */
export function renderDiff(d: FleetDiff): string {
  const out: string[] = [`Fleet ${d.fleet} at ${shortRevision(d.revision)}`];
  for (const c of d.clusters) {
    if (c.outcome !== 'compared') {
      out.push(`\ncluster ${c.cluster} (stage ${c.stage}): ${c.outcome.replace('-', ' ')}: ${c.message}`);
      continue;
    }
    const s = c.summary;
    out.push(
      `\ncluster ${c.cluster} (stage ${c.stage}): ${s.created} created, ${s.changed} changed, ${s.deleted} deleted, ${s.unchanged} unchanged${s.failed ? `, ${s.failed} failed` : ''}`,
    );
    for (const o of c.objects) {
      if (o.change === 'unchanged') continue;
      const name = o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`;
      out.push(`  ${MARK[o.change]} ${name}${o.message ? `: ${o.message}` : ''}`);
      if (o.changedKeys.length > 0) out.push(`    secret keys changed: ${o.changedKeys.join(', ')}`);
      if (o.diff)
        out.push(
          ...o.diff
            .trimEnd()
            .split('\n')
            .map((line) => `    ${line}`),
        );
    }
  }
  out.push(d.changed ? '\nChanges found.' : '\nNo changes.');
  return `${out.join('\n')}\n`;
}

const diff: CommandSpec = {
  name: 'diff',
  summary: 'Show what a commit or branch would change in each cluster (dry-run by the agents)',
  usage: 'FLEET [--revision R] [--stage S] [--cluster C] [--wait-seconds N]',
  description: [
    "Renders the revision (default: the fleet's branch, fetched now) for each cluster its fleet.yaml",
    'puts in a stage; each connected agent applies it with dryRun=All and answers with a diff of the',
    'live objects against the result. Secret values are never shown, only the keys that change.',
    'Exit 0: no changes. Exit 1: changes, or a cluster that could not be compared (not connected,',
    'no answer in time); an API error also exits 1, with its "Code: message" on stderr.',
  ].join('\n'),
  options: {
    revision: { type: 'string', value: 'R', description: 'a commit (full or abbreviated) or a branch' },
    stage: { type: 'string', value: 'S', description: "only this stage's clusters" },
    cluster: { type: 'string', value: 'C', description: 'only this cluster' },
    'wait-seconds': {
      type: 'string',
      value: 'N',
      description: 'how long agents have to answer (default 15, at most 120)',
    },
  },
  examples: ['gitfleet diff shop --revision feature/new-limits --stage prod'],
  minArgs: 1,
  maxArgs: 1,
  async run(ctx, input) {
    const [fleet] = input.args as [string];
    const query: Record<string, string> = {};
    for (const key of ['revision', 'stage', 'cluster'] as const) {
      const value = input.string(key);
      if (value !== undefined) query[key] = value;
    }
    const wait = input.string('wait-seconds');
    if (wait !== undefined) query.timeoutSeconds = wait;
    const d = await ctx.client().get<FleetDiff>(path`/api/v1/fleets/${fleet}/diff`, query);
    emit(ctx, d, () => renderDiff(d));
    return d.changed ? 1 : 0;
  },
};

export const diffCommands: CommandSpec[] = [diff];
