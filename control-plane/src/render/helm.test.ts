import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ociHosts, pullError } from './helm.ts';

describe('pullError', () => {
  it('a port that holds a status code is not that status', () => {
    const e = pullError(
      'chart oci://127.0.0.1:40307/charts/absent',
      '1.0.0',
      'Error: failed to perform "FetchReference" on source: 127.0.0.1:40307/charts/absent:1.0.0: not found',
    );
    assert.equal(e.code, 'ChartNotFound');
    assert.equal(
      pullError('chart x', undefined, 'Get "http://127.0.0.1:45003/index.yaml": connection refused').code,
      'RepositoryUnavailable',
    );
  });

  it('status codes and Helm words name the cause', () => {
    assert.equal(
      pullError('x', undefined, 'failed to fetch: 401 Unauthorized').code,
      'RepositoryUnauthorized',
    );
    assert.equal(pullError('x', undefined, 'response status 403').code, 'RepositoryUnauthorized');
    assert.equal(
      pullError('x', undefined, 'failed to fetch index.yaml : 404 Not Found').code,
      'ChartNotFound',
    );
    assert.equal(pullError('x', undefined, 'server returned 503').code, 'RepositoryUnavailable');
    assert.equal(pullError('x', undefined, 'something else').code, 'HelmError');
  });
});

describe('ociHosts', () => {
  it('names each registry of the oci:// dependencies once, and nothing else', () => {
    assert.deepEqual(
      ociHosts([
        'oci://127.0.0.1:5000/charts',
        'https://charts.example.com',
        'oci://127.0.0.1:5000/other',
        'file://../notes',
        'oci://ghcr.io/org/charts',
      ]),
      ['127.0.0.1:5000', 'ghcr.io'],
    );
  });
});
