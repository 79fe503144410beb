// npm run docs:api — regenerates docs/api.md from the OpenAPI document of the real app.
// Starts a throwaway Redis (the app needs one to build) and stops it afterwards.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiToMarkdown } from '../control-plane/src/docs/openapi-markdown.ts';
import { startTestControlPlane } from '../test/src/control-plane.ts';
import { startRedis } from '../test/src/redis.ts';

const redis = await startRedis();
const cp = await startTestControlPlane({ redisUrl: redis.url });
try {
  const doc = (await cp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const out = join(import.meta.dirname, '..', 'docs', 'api.md');
  writeFileSync(out, openApiToMarkdown(doc));
  console.log(`wrote ${out}`);
} finally {
  await cp.stop();
  await redis.stop();
}
