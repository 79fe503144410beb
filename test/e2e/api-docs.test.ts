// docs/api.md and the CLI's API types are generated from the served OpenAPI document: this
// fails when a route or its schema changed and they were not regenerated (`npm run docs:api`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openApiToMarkdown } from '../../control-plane/src/docs/openapi-markdown.ts';
import { startTestControlPlane } from '../src/control-plane.ts';
import { environmentFromEnv } from '../src/environment.ts';
import { openApiToTypes } from '../src/openapi-types.ts';

test('docs/api.md matches /openapi.json', async (t) => {
  const cp = await startTestControlPlane({ redisUrl: environmentFromEnv().redisUrl });
  t.after(() => cp.stop());
  const res = await cp.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json();
  assert.ok(doc.paths['/api/v1/clusters'], 'the document lists the routes');
  const committed = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  assert.equal(committed, openApiToMarkdown(doc), 'docs/api.md is stale: run `npm run docs:api`');
  const types = readFileSync(new URL('../../cli/src/api.gen.ts', import.meta.url), 'utf8');
  assert.equal(types, await openApiToTypes(doc), 'cli/src/api.gen.ts is stale: run `npm run docs:api`');
});
