/**
 * Unit tests of what the chart renders (Helm 4): monitoring, network policy, routes, scaling,
 * names, NOTES.txt, and a cross-check that flowergate's own config loader accepts the result.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { CHART, ROOT, render, runHelm } from '../../scripts/k8s/helm.ts';
import { type SecretData, startupConfig } from './pod-env.ts';
import { ALL_APIS, forwardAuth, kinds, one, podSpec, renderWith, sidecar } from './render-helpers.ts';

test('Prometheus Operator objects appear when the API exists, prometheus.io annotations otherwise', async (t) => {
  const bare = await renderWith(forwardAuth);
  t.false(kinds(bare).some((k) => k === 'ServiceMonitor' || k === 'PrometheusRule' || k === 'Middleware'));
  t.is(one(bare, 'Deployment').spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
  t.is(one(bare, 'Deployment').spec.template.metadata.annotations['prometheus.io/port'], '9464');

  const full = await renderWith(forwardAuth, ALL_APIS);
  const monitor = one(full, 'ServiceMonitor');
  t.deepEqual(
    monitor.spec.endpoints.map((e: { port: string }) => e.port),
    ['metrics'],
  );
  t.is(monitor.spec.selector.matchLabels['app.kubernetes.io/component'], 'metrics');
  t.is(one(full, 'Deployment').spec.template.metadata.annotations['prometheus.io/scrape'], undefined);
  t.truthy(one(full, 'Middleware', 'flowergate'));

  const pod = await renderWith({ ...forwardAuth, metrics: { podMonitor: { enabled: true } } }, ALL_APIS);
  t.false(kinds(pod).includes('ServiceMonitor'));
  t.is(one(pod, 'PodMonitor').spec.podMetricsEndpoints[0].port, 'admin');
});

test('the PrometheusRule and the dashboard ConfigMap carry the files shipped in the chart', async (t) => {
  const objects = await renderWith(forwardAuth, ALL_APIS);
  const rules = parseYaml(readFileSync(join(CHART, 'files/flowergate-rules.yaml'), 'utf8')) as {
    groups: unknown;
  };
  t.deepEqual(one(objects, 'PrometheusRule').spec.groups, rules.groups);
  const dashboard = one(objects, 'ConfigMap', 'flowergate-dashboard');
  t.is(dashboard.metadata.labels!['grafana_dashboard'], '1');
  const shipped = JSON.parse(readFileSync(join(CHART, 'files/flowergate-dashboard.json'), 'utf8'));
  const { uid, title, ...rest } = JSON.parse(dashboard.data['flowergate-dashboard.json']);
  const { uid: shippedUid, title: shippedTitle, ...shippedRest } = shipped;
  t.deepEqual(rest, shippedRest, 'the panels are the shipped ones');
  // Grafana keys dashboards by uid (at most 40 characters): this release's own, never the file's.
  t.regex(uid, /^flowergate-[0-9a-f]{16}$/);
  t.not(uid, shippedUid);
  t.is(title, `${shippedTitle} (flowergate/flowergate)`);
});

test('NetworkPolicy: main port from the ingress peers, admin port from Prometheus, your Flower locked down', async (t) => {
  const objects = await renderWith({
    ...forwardAuth,
    networkPolicy: { flower: { podSelector: { app: 'flower' } } },
  });
  const policy = one(objects, 'NetworkPolicy', 'flowergate');
  t.deepEqual(policy.spec.policyTypes, ['Ingress']);
  t.deepEqual(
    policy.spec.ingress.map((r: { ports: { port: string }[] }) => r.ports[0]!.port),
    ['http', 'admin'],
  );
  const flower = one(objects, 'NetworkPolicy', 'flowergate-flower');
  t.deepEqual(flower.spec.podSelector.matchLabels, { app: 'flower' });
  t.is(flower.spec.ingress[0].ports[0].port, 5555);
  const withEgress = one(
    await renderWith({
      ...forwardAuth,
      networkPolicy: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] },
    }),
    'NetworkPolicy',
  );
  t.deepEqual(withEgress.spec.policyTypes, ['Ingress', 'Egress']);
  t.is(withEgress.spec.egress[0].ports[0].port, 53);
});

test('sidecar HTTPRoute and Envoy Gateway SecurityPolicy point at flowergate', async (t) => {
  const route = one(
    await renderWith({
      ...sidecar,
      httpRoute: { enabled: true, parentRefs: [{ name: 'gw' }], hostnames: ['flower.example.com'] },
    }),
    'HTTPRoute',
  );
  t.deepEqual(route.spec.rules.at(-1).matches[0].path, { type: 'PathPrefix', value: '/flower' });
  t.deepEqual(route.spec.rules.at(-1).backendRefs, [{ name: 'flowergate', port: 4180 }]);
  const policy = one(
    await renderWith({
      ...forwardAuth,
      envoyGateway: {
        securityPolicy: {
          enabled: true,
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'flower' }],
        },
      },
    }),
    'SecurityPolicy',
  );
  t.is(policy.spec.extAuth.http.path, '/_flowergate/auth/envoy');
  t.false(policy.spec.extAuth.failOpen);
  t.true(policy.spec.extAuth.headersToExtAuth.includes('cookie'));
  // Without it a cross-site WebSocket handshake reaches flowergate as a plain GET and skips the CSRF guard.
  t.true(policy.spec.extAuth.headersToExtAuth.includes('sec-websocket-key'));
});

test('the helm test pod is not selected by the Service, PDB or NetworkPolicy pod selector, but may pass the policy', async (t) => {
  const objects = await renderWith(forwardAuth);
  const testLabels = one(objects, 'Pod').metadata.labels!;
  const matches = (selector: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => testLabels[k] === v);
  t.false(matches(one(objects, 'Service', 'flowergate').spec.selector));
  t.false(matches(one(objects, 'PodDisruptionBudget').spec.selector.matchLabels));
  const policy = one(objects, 'NetworkPolicy');
  t.false(matches(policy.spec.podSelector.matchLabels));
  t.true(
    policy.spec.ingress[0].from.some(
      (peer: { podSelector?: { matchLabels: Record<string, string> } }) =>
        peer.podSelector && matches(peer.podSelector.matchLabels),
    ),
  );
});

test('HPA replaces the replica count; PDB and topology spread select the pods', async (t) => {
  const objects = await renderWith({ ...forwardAuth, autoscaling: { enabled: true } });
  t.is(one(objects, 'Deployment').spec.replicas, undefined);
  t.is(one(objects, 'HorizontalPodAutoscaler').spec.minReplicas, 2);
  const selector = one(objects, 'Deployment').spec.selector.matchLabels;
  t.deepEqual(one(objects, 'PodDisruptionBudget').spec.selector.matchLabels, selector);
  for (const c of podSpec(objects).topologySpreadConstraints)
    t.deepEqual(c.labelSelector.matchLabels, selector);
});

test('long release names stay within Kubernetes name limits', async (t) => {
  const objects = await render('helm4', {
    values: forwardAuth,
    release: 'a'.repeat(53),
    apiVersions: ALL_APIS,
  });
  for (const o of objects)
    t.true(o.metadata.name.length <= (o.kind === 'Service' ? 63 : 253), `${o.kind} ${o.metadata.name}`);
  t.is(new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`)).size, objects.length);
});

test('NOTES.txt tells each topology what to do next', async (t) => {
  const notes = async (values: Record<string, unknown>) => {
    const result = await runHelm('helm4', [
      'install',
      'fg',
      CHART,
      '-n',
      'auth',
      '--dry-run=client',
      '--set-json',
      `mode=${JSON.stringify(values['mode'])}`,
      '--set-json',
      `secrets=${JSON.stringify(values['secrets'])}`,
    ]);
    t.is(result.code, 0, result.stderr);
    return result.stdout.slice(result.stdout.indexOf('NOTES:'));
  };
  const side = await notes(sidecar);
  t.true(side.includes('127.0.0.1:5555'));
  t.true(side.includes('helm test fg -n auth'));
  const fwd = await notes(forwardAuth);
  t.true(
    fwd.includes(
      'nginx.ingress.kubernetes.io/auth-url: "http://fg-flowergate.auth.svc.cluster.local:4180/_flowergate/auth/nginx"',
    ),
  );
  t.true(fwd.includes('/_flowergate/auth/forward'));
});

/**
 * The configuration the chart hands to flowergate (ConfigMap file + environment + secret files) is
 * accepted by the application's own loader, for every CI and example values file. An unknown
 * FLOWERGATE_* variable, a misspelled key, a wrong type, or a variable set together with its _FILE
 * would throw, as it would stop the pod.
 */
const secretsOutsideTheChart: SecretData = {
  flowergate: {
    'django-secret-key': 'existing-secret-value',
    'django-database-url': 'postgres://u:p@db/app',
    'celery-broker-url': 'redis://redis:6379/0',
  },
  'flower-secrets': {
    SECRET_KEY: 'existing-secret-value',
    DATABASE_URL: 'postgres://u:p@db/app',
    CELERY_BROKER_URL: 'redis://redis:6379/0',
  },
  django: { 'django-secret-key': 'existing-secret-value', SECRET_KEY: 'existing-secret-value' },
  'app-db-app': { uri: 'postgres://u:p@db/app' },
  'app-db': { host: 'db', username: 'u', password: 'p' },
  redis: { url: 'redis://redis:6379/0' },
};
const loaderFiles = [
  ...readdirSync(join(CHART, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .map((f) => join(CHART, 'ci', f)),
  ...readdirSync(join(ROOT, 'examples/helm'))
    .filter((f) => /^values-.*\.yaml$/.test(f))
    .map((f) => join(ROOT, 'examples/helm', f)),
];
for (const path of loaderFiles) {
  const file = relative(ROOT, path);
  test(`flowergate's config loader accepts what the chart renders for ${file}`, async (t) => {
    const objects = await render('helm4', { valuesFiles: [path], apiVersions: ALL_APIS });
    const config = startupConfig(objects, secretsOutsideTheChart);
    const host = config.listen.startsWith('[') ? '[::]' : '0.0.0.0';
    t.is(config.listen, `${host}:4180`);
    t.is(config.adminListen, `${host}:9464`);
    t.is(
      config.upstream === null,
      one(objects, 'Deployment').metadata.labels?.['app.kubernetes.io/component'] !== 'flower',
    );
    t.truthy(config.django.secretKey);
  });
}
