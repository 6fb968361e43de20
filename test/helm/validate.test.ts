/** The offline validator really rejects bad objects (so a green chart test means something). */
import test from 'ava';
import type { K8sObject } from '../../scripts/k8s/helm.ts';
import { validateObject } from '../../scripts/k8s/validate.ts';

const meta = { name: 'flowergate', namespace: 'auth' };

const bad: [string, K8sObject][] = [
  [
    'a Deployment with a string replica count',
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: { replicas: 'two', selector: {}, template: {} },
    },
  ],
  [
    'a Deployment without a selector',
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: { template: { spec: { containers: [{ name: 'x' }] } } },
    },
  ],
  [
    'a Service port given as a name',
    { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { ports: [{ port: 'http' }] } },
  ],
  [
    'a ServiceMonitor interval as a number',
    {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: meta,
      spec: { selector: {}, endpoints: [{ interval: 30 }] },
    },
  ],
  [
    'a Middleware with a numeric address',
    {
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'Middleware',
      metadata: meta,
      spec: { forwardAuth: { address: 123 } },
    },
  ],
  ['an upper-case object name', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'FlowerGate' } }],
  [
    'a label value that is too long',
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: 'v'.repeat(64) } } },
  ],
  ['an unknown kind', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: meta }],
  [
    'an HTTPRoute without parentRefs',
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta,
      spec: {
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 's', port: 80 }] },
        ],
      },
    },
  ],
  [
    'an ExternalAuth filter with a misspelled field and a relative path',
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta,
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            filters: [
              {
                type: 'ExternalAuth',
                externalAuth: {
                  protocol: 'HTTP',
                  backendRef: { name: 'flowergate', port: 4180 },
                  http: { path: '_flowergate/auth/envoy', allowedHeader: ['cookie'] },
                },
              },
            ],
            backendRefs: [{ name: 's', port: 80 }],
          },
        ],
      },
    },
  ],
  [
    'an HTTPRoute with an unknown field',
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta,
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: 's', port: 80 }],
            backend: 's',
          },
        ],
      },
    },
  ],
  [
    'a SecurityPolicy with both http and grpc',
    {
      apiVersion: 'gateway.envoyproxy.io/v1alpha1',
      kind: 'SecurityPolicy',
      metadata: meta,
      spec: {
        targetRefs: [{ group: 'g', kind: 'HTTPRoute', name: 'r' }],
        extAuth: { http: { backendRefs: [{ name: 's', port: 1 }], path: '/' }, grpc: {} },
      },
    },
  ],
  [
    'a SecurityPolicy with a backend port as a string',
    {
      apiVersion: 'gateway.envoyproxy.io/v1alpha1',
      kind: 'SecurityPolicy',
      metadata: meta,
      spec: {
        targetRefs: [{ group: 'g', kind: 'HTTPRoute', name: 'r' }],
        extAuth: { http: { backendRefs: [{ name: 's', port: '4180' }], path: '/' } },
      },
    },
  ],
  [
    'a ReferenceGrant without from',
    {
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: meta,
      spec: { to: [{ group: '', kind: 'Service' }] },
    },
  ],
];

for (const [title, object] of bad) {
  test(`the validator rejects ${title}`, (t) => {
    t.not(validateObject(object).errors.length, 0);
  });
}

test('the validator accepts a well-formed object', (t) => {
  const { by, errors } = validateObject({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta,
    spec: { ports: [{ port: 4180 }] },
  });
  t.is(by, 'model');
  t.deepEqual(errors, []);
});
