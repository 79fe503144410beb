// /api/v1/sso: how people sign in at the identity provider (the dashboard's "Sign in with SSO",
// `gitfleet login --sso`). Open, since it is read before anyone has a token, and it tells
// nothing the provider's own discovery document does not: its address and a public client.
import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { DomainError } from '../errors.ts';

const ssoSchema = {
  type: 'object',
  required: ['issuer', 'clientId', 'scopes'],
  properties: {
    issuer: {
      type: 'string',
      description:
        'The identity provider (GITFLEET_OIDC_ISSUER); its discovery document is at <issuer>/.well-known/openid-configuration',
    },
    clientId: {
      type: 'string',
      description:
        'The public client to sign in with, by authorization code with PKCE (S256); the ID token it gets is the bearer token',
    },
    scopes: {
      type: 'array',
      items: { type: 'string' },
      description: 'The scopes to ask for (GITFLEET_OIDC_SCOPES), openid among them',
    },
  },
} as const;

export function ssoRoutes(app: FastifyInstance, cp: ControlPlane): void {
  app.get(
    '/api/v1/sso',
    {
      schema: {
        summary:
          'How people sign in with single sign-on: the identity provider, the client and the scopes (404 when only tokens are accepted)',
        tags: ['auth'],
        response: { 200: ssoSchema },
      },
      config: { errors: ['NotFound'] },
    },
    async () => {
      const sso = cp.config.sso;
      if (!sso) {
        throw new DomainError(
          'NotFound',
          'single sign-on is not configured on this control plane: sign in with an API token (an operator enables it with GITFLEET_OIDC_ISSUER and GITFLEET_OIDC_CLIENT_ID)',
          { reason: 'sso-not-configured' },
        );
      }
      return { issuer: sso.issuer, clientId: sso.clientId, scopes: sso.scopes };
    },
  );
}
