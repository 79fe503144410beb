// The agent as it ships: one ES module, agent/dist/agent.mjs, built from agent/src/main.ts and
// every package it imports. An idle agent is mostly the memory of loading its code: one
// minified file, with no TypeScript for Node to strip at start (its stripper is a WebAssembly
// module that stays resident), takes ~20 MiB off an idle agent's RSS against running the
// sources (docs/benchmarks.md, agent footprint). The Dockerfile runs this; so does the test
// harness (test/src/agent-process.ts), which starts every agent the way the image does.
//
//   node agent/bundle.ts [outfile]      default: agent/dist/agent.mjs
//
// The output must live inside the repository (or /app in the image): the one module loaded
// lazily at run time, `yaml` for kubeconfig files, is resolved from node_modules beside it.
import { build } from 'esbuild';

export const DEFAULT_OUTFILE = new URL('./dist/agent.mjs', import.meta.url).pathname;

export async function bundleAgent(outfile = DEFAULT_OUTFILE): Promise<string> {
  await build({
    entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    // CommonJS dependencies (grpc-js, pino) call require(); an ES module has none of its own.
    banner: {
      js: "import { createRequire as __agentRequire } from 'node:module'; const require = __agentRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

if (import.meta.main) {
  console.log(await bundleAgent(process.argv[2]));
}
