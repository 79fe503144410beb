// GITFLEET_OIDC_* and the shape check of bearer tokens. Verification against a real provider is
// in test/e2e/oidc.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { claimAt, looksLikeJwt, oidcSettingsFromEnv } from './oidc.ts';

const base = {
  GITFLEET_OIDC_ISSUER: 'https://idp.example.com',
  GITFLEET_OIDC_AUDIENCE: 'gitfleet',
  GITFLEET_OIDC_ADMIN_GROUPS: 'platform-admins',
};

describe('oidcSettingsFromEnv', () => {
  test('without an issuer OpenID Connect is off', () => {
    assert.equal(oidcSettingsFromEnv({}), undefined);
    assert.equal(oidcSettingsFromEnv({ GITFLEET_OIDC_AUDIENCE: 'gitfleet' }), undefined);
    assert.equal(oidcSettingsFromEnv({ GITFLEET_OIDC_ISSUER: '  ' }), undefined);
  });

  test('defaults', () => {
    assert.deepEqual(oidcSettingsFromEnv(base), {
      issuer: 'https://idp.example.com',
      audience: 'gitfleet',
      groupsClaim: 'groups',
      adminGroups: ['platform-admins'],
      viewerGroups: [],
      clockSkewSeconds: 60,
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    });
  });

  test('every variable', () => {
    assert.deepEqual(
      oidcSettingsFromEnv({
        GITFLEET_OIDC_ISSUER: 'https://login.example.com/realms/ops',
        GITFLEET_OIDC_AUDIENCE: 'api://gitfleet',
        GITFLEET_OIDC_GROUPS_CLAIM: 'roles',
        GITFLEET_OIDC_ADMIN_GROUPS: ' ops , sre,',
        GITFLEET_OIDC_VIEWER_GROUPS: 'dev,qa',
        GITFLEET_OIDC_CLOCK_SKEW_SECONDS: '0',
        GITFLEET_OIDC_ALGORITHMS: 'ES256, EdDSA',
      }),
      {
        issuer: 'https://login.example.com/realms/ops',
        audience: 'api://gitfleet',
        groupsClaim: 'roles',
        adminGroups: ['ops', 'sre'],
        viewerGroups: ['dev', 'qa'],
        clockSkewSeconds: 0,
        algorithms: ['ES256', 'EdDSA'],
      },
    );
  });

  test('the audience is required with an issuer', () => {
    assert.throws(
      () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_AUDIENCE: '' }),
      /GITFLEET_OIDC_AUDIENCE is required with GITFLEET_OIDC_ISSUER/,
    );
  });

  test('the issuer is https, or plain http on loopback only', () => {
    for (const issuer of ['http://127.0.0.1:8080', 'http://localhost:9000/realms/x']) {
      assert.equal(oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ISSUER: issuer })?.issuer, issuer);
    }
    for (const issuer of ['http://idp.example.com', 'http://10.0.0.1', 'ftp://idp.example.com']) {
      assert.throws(
        () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ISSUER: issuer }),
        /GITFLEET_OIDC_ISSUER .* must be an https:\/\/ URL \(plain http:\/\/ is accepted only for http:\/\/127\.0\.0\.1 and http:\/\/localhost/,
      );
    }
    assert.throws(
      () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ISSUER: 'idp.example.com' }),
      /GITFLEET_OIDC_ISSUER "idp.example.com" is not a URL/,
    );
  });

  test('at least one group has a role', () => {
    assert.throws(
      () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ADMIN_GROUPS: ' , ' }),
      /GITFLEET_OIDC_ADMIN_GROUPS or GITFLEET_OIDC_VIEWER_GROUPS must name at least one group/,
    );
    assert.deepEqual(
      oidcSettingsFromEnv({
        ...base,
        GITFLEET_OIDC_ADMIN_GROUPS: undefined,
        GITFLEET_OIDC_VIEWER_GROUPS: 'v',
      })?.viewerGroups,
      ['v'],
    );
  });

  test('clock skew: a whole number of seconds up to five minutes', () => {
    assert.equal(
      oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_CLOCK_SKEW_SECONDS: '300' })?.clockSkewSeconds,
      300,
    );
    assert.equal(
      oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_CLOCK_SKEW_SECONDS: '' })?.clockSkewSeconds,
      60,
    );
    for (const bad of ['301', '-1', '1.5', 'abc', '1e2']) {
      assert.throws(
        () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_CLOCK_SKEW_SECONDS: bad }),
        /GITFLEET_OIDC_CLOCK_SKEW_SECONDS .* must be a whole number of seconds from 0 to 300/,
        bad,
      );
    }
  });

  test('algorithms: none and HMAC are refused, unknown ones too', () => {
    for (const bad of ['none', 'RS256,none', 'NONE']) {
      assert.throws(
        () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ALGORITHMS: bad }),
        /GITFLEET_OIDC_ALGORITHMS must not contain "none"/,
      );
    }
    for (const bad of ['HS256', 'RS256,HS512', 'hs384']) {
      assert.throws(
        () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ALGORITHMS: bad }),
        /GITFLEET_OIDC_ALGORITHMS must not contain (HS|hs)\d+: HMAC tokens are signed with a shared secret/,
      );
    }
    assert.throws(
      () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ALGORITHMS: 'RS1' }),
      /GITFLEET_OIDC_ALGORITHMS: unknown algorithm "RS1"/,
    );
    assert.throws(
      () => oidcSettingsFromEnv({ ...base, GITFLEET_OIDC_ALGORITHMS: ' , ' }),
      /GITFLEET_OIDC_ALGORITHMS is empty/,
    );
  });
});

describe('looksLikeJwt', () => {
  test('three base64url parts, the signature possibly empty', () => {
    assert.equal(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_'), true);
    assert.equal(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'), true);
  });

  test('the other bearer tokens are not JWTs', () => {
    for (const token of [
      'admin-0123456789abcdef',
      'gft_c29tZXRoaW5nLXJhbmRvbQ',
      'a.b',
      'a.b.c.d.e',
      '.b.c',
      'a..c',
      'a.b+/.c',
      'a.b.c=',
      '',
      `a.${'b'.repeat(20_000)}.c`,
    ]) {
      assert.equal(looksLikeJwt(token), false, token.slice(0, 30));
    }
  });
});

describe('claimAt', () => {
  test('a claim by name, else by a dotted path into nested claims', () => {
    const payload = { groups: ['a'], 'x.y': 1, realm_access: { roles: ['admins'] } };
    assert.deepEqual(claimAt(payload, 'groups'), ['a']);
    assert.equal(claimAt(payload, 'x.y'), 1);
    assert.deepEqual(claimAt(payload, 'realm_access.roles'), ['admins']);
    assert.equal(claimAt(payload, 'realm_access.missing'), undefined);
    assert.equal(claimAt(payload, 'groups.length'), undefined);
  });
});
