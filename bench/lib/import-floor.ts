// The resident memory a Node process has before it does any work, for the agent footprint's
// context: `node bench/lib/import-floor.ts <empty|client-node|agent>` loads nothing, only
// @kubernetes/client-node, or the agent's whole module graph (agent/src/agent.ts and what it
// imports), collects garbage and prints its RSS and heap as JSON.
import { readFileSync } from 'node:fs';
import { collectGarbage } from './gc.ts';

const what = process.argv[2] ?? 'empty';
if (what === 'client-node') await import('@kubernetes/client-node');
else if (what === 'agent') await import('../../agent/src/agent.ts');
else if (what !== 'empty') throw new Error(`unknown: ${what} (empty | client-node | agent)`);
collectGarbage();
await new Promise((r) => setTimeout(r, 200));
const kb = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
const m = process.memoryUsage();
console.log(
  JSON.stringify({
    what,
    rss: m.rss,
    rssAnonKb: kb('RssAnon'),
    rssFileKb: kb('RssFile'),
    heapUsed: m.heapUsed,
    external: m.external,
  }),
);
