// Fuzzes the REST API from its OpenAPI document and prints how many requests were tried, the
// count per status, and every 5xx (the goal is none). Starts its own Redis, Git server (with
// one fleet repository) and in-process control plane, and stops them afterwards.
//
//   node scripts/fuzz-api.ts [--requests 5000] [--seed 1] [--concurrency 1]
import { parseArgs } from 'node:util';
import { startTestControlPlane } from '../test/src/control-plane.ts';
import { formatFuzzResult, fuzzApi } from '../test/src/fuzz.ts';
import { startGitServer } from '../test/src/git-server.ts';
import { startRedis } from '../test/src/redis.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
  },
});
const WEBHOOK_SECRET = 'fuzz-webhook-secret';
const redis = await startRedis();
const git = await startGitServer();
const cp = await startTestControlPlane({
  redisUrl: redis.url,
  env: { GITFLEET_WEBHOOK_SECRET: WEBHOOK_SECRET },
});
let failed = true;
try {
  await git.createRepo('fuzz', {
    'fleet.yaml': 'stages:\n  - name: dev\n    selector: { matchLabels: { env: dev } }\n',
    'manifests/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fuzz\n  namespace: default\n',
  });
  const result = await fuzzApi({
    app: cp.app,
    token: cp.adminToken,
    requests: Number(values.requests),
    seed: Number(values.seed),
    concurrency: Number(values.concurrency),
    names: ['fuzz-a', 'fuzz-b', 'fuzz-c'],
    repoUrl: git.repoUrl('fuzz'),
    credentials: { username: git.username, password: git.password },
    webhookSecret: WEBHOOK_SECRET,
  });
  console.log(formatFuzzResult(result));
  failed =
    result.serverErrors + result.uncoded + result.undocumented + result.mismatched + result.refusedValid > 0;
} finally {
  await cp.stop();
  await git.stop();
  await redis.stop();
}
process.exit(failed ? 1 : 0);
