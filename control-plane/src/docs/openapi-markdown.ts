// Renders the OpenAPI document the API serves at /openapi.json as the Markdown reference in
// docs/api.md, so the written reference cannot drift from the routes and their schemas.
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string }>;
}

interface OpenApi {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

function describeBody(schema: Schema | undefined): string {
  if (!schema?.properties) return '';
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties)
    .map(([name, s]) => {
      const type = Array.isArray(s.type) ? s.type.join('|') : (s.type ?? 'any');
      return `\`${name}\`${required.has(name) ? '' : '?'}: ${type}`;
    })
    .join(', ');
}

/** "201; 404 FleetNotFound; 409 FleetExists, Conflict": each status, errors with their codes. */
function describeAnswers(responses: Operation['responses']): string {
  return Object.entries(responses ?? {})
    .map(([status, r]) => {
      const codes = /\(code ([^)]+)\)/.exec(r.description ?? '')?.[1];
      return codes ? `${status} ${codes}` : status;
    })
    .join('; ');
}

export function openApiToMarkdown(doc: OpenApi): string {
  const lines = [
    '# REST API',
    '',
    `Generated from \`/openapi.json\` (${doc.info.title} ${doc.info.version}) by \`npm run docs:api\`; a test fails when it is stale.`,
    '',
    'Every route under `/api/v1` needs `Authorization: Bearer <token>` (role `viewer` may read, `admin` may',
    'also write), except the push webhook, which is verified by its HMAC signature. Errors are JSON',
    '`{ "code": "<StableCode>", "message": "<what to fix>", "details"?: ... }`; each route lists every',
    'status it answers, errors with their codes (/openapi.json has the schemas of every body).',
    '',
    '| method | path | what | body | answers |',
    '| --- | --- | --- | --- | --- |',
  ];
  const paths = Object.keys(doc.paths).sort();
  for (const path of paths) {
    const ops = doc.paths[path] ?? {};
    for (const method of ['get', 'post', 'patch', 'put', 'delete']) {
      const op = ops[method];
      if (!op) continue;
      const body = describeBody(op.requestBody?.content?.['application/json']?.schema);
      const query = (op.parameters ?? [])
        .filter((p) => p.in === 'query')
        .map((p) => `?${p.name}=`)
        .join(' ');
      lines.push(
        `| ${method.toUpperCase()} | \`${path}\`${query ? ` \`${query}\`` : ''} | ${(op.summary ?? '').replace(/\|/g, '\\|')} | ${body} | ${describeAnswers(op.responses)} |`,
      );
    }
  }
  lines.push(
    '',
    'Also: `/healthz`, `/readyz` (Redis reachable), `/metrics` (Prometheus text), `/openapi.json`.',
    '',
  );
  return lines.join('\n');
}
