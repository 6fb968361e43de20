import test from 'ava';
import {
  accessReviewSpec,
  decisionFromStatus,
  normalizePath,
  verbFor,
} from '../../src/kube/access-review.ts';
import type { KubeUser } from '../../src/kube/token-review.ts';
import { kubernetesConfig, PROMETHEUS } from '../support/kube/harness.ts';

const user: KubeUser = PROMETHEUS;
const resourceAttributes = kubernetesConfig({ resourceAttributes: {} }).resourceAttributes;

test('HTTP methods map to RBAC verbs as kube-rbac-proxy maps them', (t) => {
  const table: Record<string, string> = {
    GET: 'get',
    HEAD: 'get',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: 'delete',
    OPTIONS: 'options',
    PROPFIND: 'propfind',
    get: 'get',
  };
  for (const [method, verb] of Object.entries(table)) t.is(verbFor(method), verb, method);
});

test('without resource attributes, the path is a non-resource URL', (t) => {
  t.deepEqual(
    accessReviewSpec(
      user,
      { method: 'GET', path: '/metrics?x=1' },
      { resourceAttributes: null, urlPrefix: '' },
    ),
    {
      user: PROMETHEUS.username,
      uid: PROMETHEUS.uid,
      groups: PROMETHEUS.groups,
      extra: PROMETHEUS.extra,
      nonResourceAttributes: { path: '/metrics', verb: 'get' },
    },
  );
});

test('with resource attributes, the first path segment after the prefix is the subresource', (t) => {
  const spec = (method: string, path: string, urlPrefix = '') =>
    accessReviewSpec(user, { method, path }, { resourceAttributes, urlPrefix }).resourceAttributes;
  t.deepEqual(spec('POST', '/flower/api/task/revoke/abc', '/flower'), {
    verb: 'create',
    group: 'flowergate.io',
    version: 'v1',
    resource: 'flower',
    subresource: 'api',
  });
  t.is(spec('GET', '/metrics')?.subresource, 'metrics');
  t.is(spec('GET', '/flower/metrics', '/flower')?.subresource, 'metrics');
  t.is(spec('GET', '/flower', '/flower')?.subresource, undefined);
  t.is(spec('GET', '/')?.subresource, undefined);
  t.is(
    spec('GET', '/flowerpot/x', '/flower')?.subresource,
    'flowerpot',
    'a prefix matches whole segments only',
  );
  t.is(spec('GET', '/metrics/../api/workers')?.subresource, 'api', 'dot segments are resolved first');
});

test('configured namespace and name are sent; subresourceFromPath false sends none', (t) => {
  const attributes = kubernetesConfig({
    resourceAttributes: {
      namespace: 'flower',
      name: 'main',
      subresourceFromPath: false,
      group: '',
      resource: 'services',
      version: '',
    },
  }).resourceAttributes;
  t.deepEqual(
    accessReviewSpec(
      user,
      { method: 'DELETE', path: '/api/x' },
      { resourceAttributes: attributes, urlPrefix: '' },
    ).resourceAttributes,
    { verb: 'delete', group: '', version: '', resource: 'services', namespace: 'flower', name: 'main' },
  );
});

test('extra keys are sorted so equal users give equal specs', (t) => {
  const a = accessReviewSpec(
    { ...user, extra: { b: ['1'], a: ['2'] } },
    { method: 'GET', path: '/' },
    { resourceAttributes: null, urlPrefix: '' },
  );
  t.deepEqual(Object.keys(a.extra ?? {}), ['a', 'b']);
});

test('paths are normalized as a proxy in front would: query, slashes, dot segments', (t) => {
  const table: Record<string, string> = {
    '': '/',
    '/': '/',
    metrics: '/metrics',
    '/metrics/': '/metrics/',
    '//metrics': '/metrics',
    '/a//b': '/a/b',
    '/api/workers?refresh=1': '/api/workers',
    '/x#frag': '/x',
    '/metrics/../api/task': '/api/task',
    '/metrics/%2e%2E/api': '/api',
    '/metrics/.%2e/api': '/api',
    '/a/b/..': '/a/',
    '/a/.': '/a/',
    '/..': '/',
    '/../../x': '/x',
    '/a/%2e%2ex': '/a/%2e%2ex',
    '/a/...': '/a/...',
  };
  for (const [raw, normal] of Object.entries(table)) t.is(normalizePath(raw), normal, raw);
});

test('decisions keep the authorizer reason, with a default when it gave none', (t) => {
  t.deepEqual(decisionFromStatus({ allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "x"' }), {
    allowed: true,
    denied: false,
    reason: 'RBAC: allowed by ClusterRoleBinding "x"',
  });
  t.deepEqual(decisionFromStatus({ allowed: false }), {
    allowed: false,
    denied: false,
    reason: 'no RBAC rule allows this request',
  });
  t.deepEqual(decisionFromStatus({ allowed: false, denied: true }), {
    allowed: false,
    denied: true,
    reason: 'denied by the Kubernetes authorizer',
  });
  t.is(
    decisionFromStatus({ allowed: false, evaluationError: 'webhook down' }).reason,
    'evaluation error: webhook down',
  );
  t.false(decisionFromStatus({ allowed: 'yes' as unknown as boolean }).allowed, 'only literal true allows');
});
