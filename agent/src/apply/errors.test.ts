import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectRef } from '../objects.ts';
import { ApplyError, fromApiStatus, isApplyError, waitTimeoutError } from './errors.ts';

const web: ObjectRef = { group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
const widget: ObjectRef = {
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  namespace: 'shop',
  name: 'w1',
};

// Response bodies as kube-apiserver sends them.
const status = (code: number, reason: string, message: string, details?: unknown) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code,
});

describe('fromApiStatus', () => {
  it('maps a server-side apply conflict to FieldConflict naming the manager and field', () => {
    const err = fromApiStatus(
      web,
      409,
      status(
        409,
        'Conflict',
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
        {
          causes: [
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "kubectl-client-side-apply" using apps/v1',
              field: '.spec.replicas',
            },
          ],
        },
      ),
    );
    assert.ok(err instanceof ApplyError);
    assert.equal(err.code, 'FieldConflict');
    assert.deepEqual(err.ref, web);
    assert.deepEqual(err.conflicts, [{ manager: 'kubectl-client-side-apply', field: '.spec.replicas' }]);
    assert.equal(err.retryable, false);
    assert.equal(err.httpStatus, 409);
    assert.match(
      err.message,
      /^Deployment\/shop\/web: \.spec\.replicas is managed by "kubectl-client-side-apply": /,
    );
    assert.match(err.apiMessage, /^Apply failed with 1 conflict/);
  });

  it('lists every conflicting manager once, fields in order', () => {
    const body = JSON.stringify(
      status(
        409,
        'Conflict',
        'Apply failed with 3 conflicts: conflicts with "helm" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image\nconflicts with "hpa-controller" with subresource "scale" using autoscaling/v1:\n- .spec.replicas',
        {
          causes: [
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "helm" using apps/v1',
              field: '.spec.replicas',
            },
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "helm" using apps/v1',
              field: '.spec.template.spec.containers[name="web"].image',
            },
            {
              reason: 'FieldManagerConflict',
              message: 'conflict with "hpa-controller" with subresource "scale" using autoscaling/v1',
              field: '.spec.replicas',
            },
          ],
        },
      ),
    );
    const err = fromApiStatus(web, 409, body);
    assert.equal(err.code, 'FieldConflict');
    assert.deepEqual(
      err.conflicts.map((c) => c.manager),
      ['helm', 'helm', 'hpa-controller'],
    );
    assert.match(err.message, /are managed by "helm", "hpa-controller"/);
  });

  it('maps a 409 without field conflicts to a retryable Conflict', () => {
    const err = fromApiStatus(
      web,
      409,
      status(
        409,
        'Conflict',
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
        { name: 'web', group: 'apps', kind: 'deployments' },
      ),
    );
    assert.equal(err.code, 'Conflict');
    assert.equal(err.retryable, true);
  });

  it('maps Invalid with field causes, listing each field', () => {
    const err = fromApiStatus(
      web,
      422,
      status(
        422,
        'Invalid',
        'Deployment.apps "web" is invalid: [spec.template.spec.containers[0].image: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]',
        {
          name: 'web',
          group: 'apps',
          kind: 'Deployment',
          causes: [
            {
              reason: 'FieldValueRequired',
              message: 'Required value',
              field: 'spec.template.spec.containers[0].image',
            },
            {
              reason: 'FieldValueInvalid',
              message: 'Invalid value: -1: must be greater than or equal to 0',
              field: 'spec.replicas',
            },
          ],
        },
      ),
    );
    assert.equal(err.code, 'Invalid');
    assert.equal(err.fieldErrors.length, 2);
    assert.equal(
      err.message,
      'Deployment/shop/web is invalid: spec.template.spec.containers[0].image: Required value; ' +
        'spec.replicas: Invalid value: -1: must be greater than or equal to 0: fix the manifest in Git',
    );
  });

  it('tells an immutable field apart from other invalid values', () => {
    const err = fromApiStatus(
      web,
      422,
      status(
        422,
        'Invalid',
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}}: field is immutable',
        {
          name: 'web',
          group: 'apps',
          kind: 'Deployment',
          causes: [
            {
              reason: 'FieldValueInvalid',
              message: 'Invalid value: v1.LabelSelector{...}: field is immutable',
              field: 'spec.selector',
            },
          ],
        },
      ),
    );
    assert.equal(err.code, 'Immutable');
    assert.match(err.message, /^Deployment\/shop\/web: spec\.selector cannot be changed after creation: /);
  });

  it('reads a CEL immutability rule from the message alone', () => {
    const err = fromApiStatus(
      widget,
      422,
      status(
        422,
        'Invalid',
        'Widget.example.com "w1" is invalid: spec.size: Invalid value: "string": size is immutable',
      ),
    );
    assert.equal(err.code, 'Immutable');
  });

  it('maps a schema mismatch to Invalid, even when an older server says 500', () => {
    const msg =
      'failed to create typed patch object (shop/web; apps/v1, Kind=Deployment): .spec.template.spec.containers[name="web"].imagePolicy: field not declared in schema';
    assert.equal(fromApiStatus(web, 500, status(500, 'InternalError', msg)).code, 'Invalid');
    assert.equal(fromApiStatus(web, 400, status(400, 'BadRequest', msg)).code, 'Invalid');
    const strict = fromApiStatus(
      web,
      400,
      status(400, 'BadRequest', 'strict decoding error: unknown field "spec.replica"'),
    );
    assert.equal(strict.code, 'Invalid');
  });

  it('maps a missing namespace to NamespaceNotFound', () => {
    const err = fromApiStatus(
      web,
      404,
      status(404, 'NotFound', 'namespaces "shop" not found', { name: 'shop', kind: 'namespaces' }),
    );
    assert.equal(err.code, 'NamespaceNotFound');
    assert.equal(err.retryable, true);
    assert.match(err.message, /namespace "shop" does not exist: add a Namespace object to the bundle/);
  });

  it('maps an unserved kind (plain-text 404 or the generic message) to KindNotServed', () => {
    const plain = fromApiStatus(widget, 404, '404 page not found\n');
    assert.equal(plain.code, 'KindNotServed');
    assert.equal(plain.apiMessage, '404 page not found');
    assert.match(
      plain.message,
      /does not serve kind Widget in example\.com\/v1: install its CustomResourceDefinition/,
    );
    const generic = fromApiStatus(
      widget,
      404,
      status(404, 'NotFound', 'the server could not find the requested resource'),
    );
    assert.equal(generic.code, 'KindNotServed');
    const noVersion = fromApiStatus({ ...widget, version: '' }, 404, undefined);
    assert.match(noVersion.message, /in example\.com:/);
  });

  it('maps a missing object to NotFound', () => {
    const err = fromApiStatus(
      web,
      404,
      status(404, 'NotFound', 'deployments.apps "web" not found', {
        name: 'web',
        group: 'apps',
        kind: 'deployments',
      }),
    );
    assert.equal(err.code, 'NotFound');
  });

  it('explains an RBAC refusal in terms of the agent', () => {
    const err = fromApiStatus(
      web,
      403,
      status(
        403,
        'Forbidden',
        'deployments.apps "web" is forbidden: User "system:serviceaccount:gitfleet-system:gitfleet-agent" cannot patch resource "deployments" in API group "apps" in the namespace "shop"',
        { name: 'web', group: 'apps', kind: 'deployments' },
      ),
    );
    assert.equal(err.code, 'Forbidden');
    assert.match(
      err.message,
      /the agent may not patch deployments in namespace "shop": grant it to the agent's ServiceAccount/,
    );
  });

  it('passes admission refusals through with their own words', () => {
    const err = fromApiStatus(
      web,
      403,
      status(
        403,
        'Forbidden',
        'pods "web" is forbidden: exceeded quota: compute, requested: limits.cpu=2, used: limits.cpu=8, limited: limits.cpu=8',
      ),
    );
    assert.equal(err.code, 'Forbidden');
    assert.match(err.message, /refused by the cluster: pods "web" is forbidden: exceeded quota/);
  });

  it('maps a terminating namespace to a retryable NamespaceTerminating', () => {
    const err = fromApiStatus(
      web,
      403,
      status(
        403,
        'Forbidden',
        'deployments.apps "web" is forbidden: unable to create new content in namespace shop because it is being terminated',
        {
          name: 'web',
          group: 'apps',
          kind: 'deployments',
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: 'namespace shop is being terminated',
              field: 'metadata.namespace',
            },
          ],
        },
      ),
    );
    assert.equal(err.code, 'NamespaceTerminating');
    assert.equal(err.retryable, true);
  });

  it('maps throttling and server failures to a retryable Transient', () => {
    const throttled = fromApiStatus(
      web,
      429,
      status(
        429,
        'TooManyRequests',
        'the server has received too many requests and has asked us to try again later',
        {
          retryAfterSeconds: 3,
        },
      ),
    );
    assert.equal(throttled.code, 'Transient');
    assert.equal(throttled.retryable, true);
    assert.equal(throttled.retryAfterSeconds, 3);
    const webhookDown = fromApiStatus(
      web,
      500,
      status(
        500,
        'InternalError',
        'Internal error occurred: failed calling webhook "validate.kyverno.svc": failed to call webhook: Post "https://kyverno-svc.kyverno.svc:443/validate": dial tcp 10.96.0.12:443: connect: connection refused',
      ),
    );
    assert.equal(webhookDown.code, 'Transient');
    assert.equal(fromApiStatus(web, 503, 'service unavailable').code, 'Transient');
  });

  it('maps 401 to Unauthorized', () => {
    const err = fromApiStatus(web, 401, status(401, 'Unauthorized', 'Unauthorized'));
    assert.equal(err.code, 'Unauthorized');
    assert.equal(err.retryable, false);
  });

  it('falls back to ApplyFailed with the API server message', () => {
    const err = fromApiStatus(
      web,
      413,
      status(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
    );
    assert.equal(err.code, 'ApplyFailed');
    assert.equal(
      err.message,
      'Deployment/shop/web: apply failed: Request entity too large: limit is 3145728',
    );
    const empty = fromApiStatus(web, 418, undefined);
    assert.equal(empty.apiMessage, 'HTTP 418');
  });

  it('serializes to JSON with its code and ref', () => {
    const err = fromApiStatus(web, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const json = JSON.parse(JSON.stringify(err));
    assert.equal(json.code, 'Unauthorized');
    assert.deepEqual(json.ref, web);
    assert.match(json.message, /^Deployment\/shop\/web/);
    assert.equal(isApplyError(err), true);
    assert.equal(isApplyError(new Error('x')), false);
  });
});

describe('waitTimeoutError', () => {
  it('names the object, the time waited and what was still missing', () => {
    const err = waitTimeoutError(web, 300_000, { message: '2 of 3 replicas ready' });
    assert.equal(err.code, 'WaitTimeout');
    assert.equal(err.message, 'Deployment/shop/web not ready after 5m: 2 of 3 replicas ready');
    assert.equal(err.httpStatus, undefined);
    assert.equal(waitTimeoutError(web, 90_000).message, 'Deployment/shop/web not ready after 1m30s');
    assert.equal(waitTimeoutError(web, 45_000).message, 'Deployment/shop/web not ready after 45s');
  });
});
