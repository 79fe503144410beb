// npm run docs:api — regenerates docs/api.md and the CLI's API types (cli/src/api.gen.ts) from
// the OpenAPI document of the real app.
// Starts a throwaway Redis (the app needs one to build) and stops it afterwards.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiToMarkdown } from '../control-plane/src/docs/openapi-markdown.ts';
import { startTestControlPlane } from '../test/src/control-plane.ts';
import { openApiToTypes } from '../test/src/openapi-types.ts';
import { startRedis } from '../test/src/redis.ts';

const redis = await startRedis();
const cp = await startTestControlPlane({ redisUrl: redis.url });
try {
  const doc = (await cp.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const out = join(import.meta.dirname, '..', 'docs', 'api.md');
  writeFileSync(out, openApiToMarkdown(doc));
  console.log(`wrote ${out}`);
  const types = join(import.meta.dirname, '..', 'cli', 'src', 'api.gen.ts');
  writeFileSync(types, await openApiToTypes(doc));
  console.log(`wrote ${types}`);
} finally {
  await cp.stop();
  await redis.stop();
}
