// Push webhooks from GitHub and Gitea: verify the HMAC-SHA256 signature over the raw body,
// find the fleets that track the pushed repository and branch, and queue a fetch of each
// (202: the fetch and its fan-out run after the answer).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { DomainError, invalid } from '../errors.ts';
import { WEBHOOK_BODY_LIMIT } from './input.ts';

interface PushPayload {
  ref?: unknown;
  repository?: { clone_url?: unknown; html_url?: unknown; url?: unknown } | null;
}

/** Compares repository URLs the way people write them: with or without .git, trailing slash, case of the host. */
export function sameRepository(a: string, b: string): boolean {
  const norm = (u: string) => {
    try {
      const url = new URL(u);
      return `${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '').replace(/\.git$/, '')}`;
    } catch {
      return u;
    }
  };
  return norm(a) === norm(b);
}

export function verifySignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(header.replace(/^sha256=/, ''), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function webhookRoutes(app: FastifyInstance, cp: ControlPlane): void {
  // Encapsulated so that only this route sees raw bodies (the signature covers the bytes),
  // whatever their content type: a delivery is judged by its signature, nothing else.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      '/api/v1/webhooks/git',
      {
        bodyLimit: WEBHOOK_BODY_LIMIT,
        schema: {
          summary:
            'Push webhook (GitHub X-Hub-Signature-256 or Gitea X-Gitea-Signature, HMAC-SHA256): queue a fetch of the matching fleets (202)',
          tags: ['webhooks'],
          response: {
            200: {
              description: 'An event other than push: nothing to do',
              type: 'object',
              required: ['event', 'fleets'],
              properties: { event: { type: 'string' }, fleets: { type: 'array', items: { type: 'string' } } },
            },
            202: {
              description: 'The fetch of each matching fleet is queued',
              type: 'object',
              required: ['event', 'fleets'],
              properties: { event: { type: 'string' }, fleets: { type: 'array', items: { type: 'string' } } },
            },
          },
        },
        config: { errors: ['Forbidden', 'InvalidSignature'] },
      },
      async (request, reply) => {
        const secret = cp.config.webhookSecret;
        if (!secret) {
          throw new DomainError(
            'Forbidden',
            'webhooks are disabled: set GITFLEET_WEBHOOK_SECRET on the control plane and in the Git server',
          );
        }
        // No body at all is signed as zero bytes (and so refused unless that is what was signed).
        const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
        const signature =
          (request.headers['x-hub-signature-256'] as string | undefined) ??
          (request.headers['x-gitea-signature'] as string | undefined);
        if (!verifySignature(secret, raw, signature)) {
          throw new DomainError(
            'InvalidSignature',
            'webhook signature missing or wrong: check the webhook secret',
          );
        }
        let parsed: unknown;
        try {
          const text = raw.toString('utf8');
          // GitHub can send form-encoded payloads: payload=<json>
          parsed = JSON.parse(
            text.startsWith('payload=') ? decodeURIComponent(text.slice(8).replace(/\+/g, ' ')) : text,
          );
        } catch {
          throw invalid('webhook body is not JSON: set the webhook content type to application/json');
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw invalid('webhook body must be a JSON object (a push event with `ref` and `repository`)');
        }
        const payload = parsed as PushPayload;
        const event = (request.headers['x-github-event'] ?? request.headers['x-gitea-event']) as
          | string
          | undefined;
        if (event && event !== 'push') return { event, fleets: [] };
        // Signed by the Git server, yet still only text where text is expected.
        const repository = typeof payload.repository === 'object' ? (payload.repository ?? {}) : {};
        const urls = [repository.clone_url, repository.html_url, repository.url].filter(
          (u): u is string => typeof u === 'string' && u !== '',
        );
        const branch =
          typeof payload.ref === 'string' ? payload.ref.replace(/^refs\/heads\//, '') : undefined;
        const matched = (await cp.fleets.specs()).filter(
          (spec) => urls.some((u) => sameRepository(u, spec.repo)) && (!branch || branch === spec.branch),
        );
        // Answered once each fetch is recorded as owed, not when its fan-out is done: Git
        // hosts call a webhook failed after a few seconds, and a fleet can be large.
        await Promise.all(matched.map((spec) => cp.reconciler.request(spec.name, { fetch: true })));
        reply.code(202);
        return { event: event ?? 'push', fleets: matched.map((spec) => spec.name) };
      },
    );
  });
}
