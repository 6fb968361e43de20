/**
 * The chart in real clusters (Helm 4): several releases side by side, IPv6-only and dual-stack
 * networks, and the user's own objects, variables and pod metadata.
 */
import test from 'ava';
import { ALL_APIS, type K8sObject, render, runHelm, templateArgs } from '../../scripts/k8s/helm.ts';
import { containerEnv, startupConfig } from './pod-env.ts';
import { container, forwardAuth, one, renderWith, sidecar } from './render-helpers.ts';

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding']);

/** Everything that must be unique in a cluster: names (per namespace, or cluster-wide) and the dashboard uid. */
function identities(objects: K8sObject[]): string[] {
  const ids = objects.map((o) =>
    CLUSTER_SCOPED.has(o.kind)
      ? `${o.kind}/${o.metadata.name}`
      : `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`,
  );
  for (const o of objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('dashboard')))
    ids.push(`grafana-uid/${JSON.parse(o['data']['flowergate-dashboard.json']).uid}`);
  return ids;
}

const everything = {
  ...forwardAuth,
  config: { kubernetes: { tokenAuth: true } },
  metrics: { grafanaDashboard: { namespace: 'monitoring' } },
  envoyGateway: {
    securityPolicy: {
      enabled: true,
      namespace: 'gateways',
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'flower' }],
    },
  },
};
const release = (namespace: string, name = 'flowergate') =>
  render('helm4', { values: everything, apiVersions: ALL_APIS, namespace, release: name });

test('two releases of the same name in two namespaces share no name and no dashboard uid', async (t) => {
  const [a, b] = await Promise.all([release('team-a'), release('team-b')]);
  t.true(
    a.some((o) => o.kind === 'ClusterRoleBinding'),
    'cluster-scoped objects are rendered',
  );
  const shared = identities(a).filter((id) => identities(b).includes(id));
  t.deepEqual(shared, []);
  t.is(one(a, 'ClusterRole').metadata.name, 'team-a-flowergate-token-review');
  t.is(one(a, 'ClusterRoleBinding').roleRef.name, 'team-a-flowergate-token-review');
  t.is(one(a, 'ConfigMap', 'team-a-flowergate-dashboard').metadata.namespace, 'monitoring');
  t.is(one(a, 'SecurityPolicy').metadata.name, 'team-a-flowergate');

  // The check itself can fail: the same release installed twice collides everywhere.
  const again = await release('team-a');
  t.is(identities(again).filter((id) => identities(a).includes(id)).length, identities(a).length);
});

test('cluster-scoped names stay within 63 characters and distinct for long namespaces', async (t) => {
  const long = 'n'.repeat(60);
  const [a, b] = await Promise.all([
    release(`${long}-a`, 'x'.repeat(40)),
    release(`${long}-b`, 'x'.repeat(40)),
  ]);
  for (const objects of [a, b])
    for (const o of objects) t.true(o.metadata.name.length <= 63, o.metadata.name);
  t.not(one(a, 'ClusterRole').metadata.name, one(b, 'ClusterRole').metadata.name);
});

test('listen.ipFamily: IPv4 by default, [::] for IPv6 and dual stack, with a matching Service', async (t) => {
  const cases = [
    { ipFamily: 'IPv4', host: '0.0.0.0', policy: undefined, families: undefined },
    { ipFamily: 'IPv6', host: '[::]', policy: 'SingleStack', families: ['IPv6'] },
    { ipFamily: 'dual', host: '[::]', policy: 'PreferDualStack', families: ['IPv4', 'IPv6'] },
  ];
  for (const c of cases) {
    const objects = await renderWith({ ...forwardAuth, listen: { ipFamily: c.ipFamily } });
    const config = startupConfig(objects);
    t.is(config.listen, `${c.host}:4180`, c.ipFamily);
    t.is(config.adminListen, `${c.host}:9464`, c.ipFamily);
    const service = one(objects, 'Service', 'flowergate');
    t.is(service.spec.ipFamilyPolicy, c.policy);
    t.deepEqual(service.spec.ipFamilies, c.families);
  }
  const explicit = await renderWith({ ...forwardAuth, listen: { address: 'fd00::10' } });
  t.is(startupConfig(explicit).listen, '[fd00::10]:4180', 'an IPv6 address is bracketed');
});

test('extraObjects are rendered through tpl; envFrom, podAnnotations and podLabels reach the pod', async (t) => {
  const objects = await renderWith({
    ...forwardAuth,
    extraObjects: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: '{{ include "flowergate.fullname" . }}-extra',
          namespace: '{{ .Release.Namespace }}',
        },
        data: { chart: '{{ .Chart.Name }}' },
      },
      'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-reader\n',
    ],
    envFrom: [{ configMapRef: { name: 'flowergate-settings' } }],
    podAnnotations: { 'reloader.stakater.com/auto': 'true' },
    podLabels: { team: 'data' },
  });
  const extra = one(objects, 'ConfigMap', 'flowergate-extra');
  t.is(extra.metadata.namespace, 'flowergate');
  t.is(extra['data'].chart, 'flowergate');
  t.truthy(one(objects, 'ServiceAccount', 'flowergate-reader'));
  t.deepEqual(container(objects, 'flowergate').envFrom, [{ configMapRef: { name: 'flowergate-settings' } }]);
  const template = one(objects, 'Deployment').spec.template;
  t.is(template.metadata.annotations['reloader.stakater.com/auto'], 'true');
  t.is(template.metadata.labels.team, 'data');
});

test('the URL prefix and allowed hosts follow flower.urlPrefix and the routed host names', async (t) => {
  const objects = await renderWith({
    ...forwardAuth,
    ingress: { enabled: true, host: '*.example.com', path: '/ops/flower', flowerService: { name: 'flower' } },
  });
  const env = containerEnv(objects);
  t.is(env['FLOWERGATE_URL_PREFIX'], '/ops/flower', 'forward-auth: the path routed to your Flower');
  t.is(env['FLOWERGATE_ALLOWED_HOSTS'], '.example.com', "a wildcard host in Django's syntax");
  const config = startupConfig(objects);
  t.is(config.urlPrefix, '/ops/flower');
  t.deepEqual(config.allowedHosts, ['.example.com']);
  // The helm test pod asks as a host the gate accepts, under the prefix (outside it is 404).
  const testArgs = (o: typeof objects) => o.find((x) => x.kind === 'Pod')?.['spec'].containers[0].args[0];
  t.regex(testArgs(objects), /X-Original-URL': 'https:\/\/flower\.example\.com\/ops\/flower\/'/);

  // Sidecar: flower.urlPrefix, given to Flower and flowergate alike.
  const side = await renderWith({ ...sidecar, flower: { urlPrefix: '/ops/flower' } });
  t.is(containerEnv(side)['FLOWERGATE_URL_PREFIX'], '/ops/flower');
  t.true(container(side, 'flower').args.includes('--url_prefix=ops/flower'));
  // forward-auth without a routed path: no prefix, so a Flower at the root is not refused as outside it.
  t.is(containerEnv(await renderWith(forwardAuth))['FLOWERGATE_URL_PREFIX'], undefined);
  const rootPath = await renderWith({
    ...forwardAuth,
    ingress: { enabled: true, host: 'flower.example.com', path: '/', flowerService: { name: 'flower' } },
  });
  t.is(containerEnv(rootPath)['FLOWERGATE_URL_PREFIX'], undefined);
  // Your own config.urlPrefix wins, in the file; the helm test follows it.
  const configured = await renderWith({ ...forwardAuth, config: { urlPrefix: 'flower' } });
  t.is(containerEnv(configured)['FLOWERGATE_URL_PREFIX'], undefined);
  t.is(startupConfig(configured).urlPrefix, '/flower');
  t.regex(testArgs(configured), /X-Original-URL': 'https:\/\/flower\.invalid\/flower\/'/);

  const own = await renderWith({
    ...forwardAuth,
    config: { allowedHosts: ['flower.internal'] },
    ingress: { enabled: true, host: 'flower.example.com', flowerService: { name: 'flower' } },
  });
  t.is(containerEnv(own)['FLOWERGATE_ALLOWED_HOSTS'], undefined, 'config.allowedHosts wins');
  t.deepEqual(startupConfig(own).allowedHosts, ['flower.internal']);
  const none = await renderWith(forwardAuth);
  t.is(containerEnv(none)['FLOWERGATE_ALLOWED_HOSTS'], undefined, 'no routed host, no list');
});

test('sidecar: config.urlPrefix is refused, since Flower would not get it (flower.urlPrefix is the one)', async (t) => {
  const result = await runHelm(
    'helm4',
    templateArgs({ values: { ...sidecar, config: { urlPrefix: '/ops' } } }),
  );
  t.not(result.code, 0);
  t.regex(result.stderr, /config\.urlPrefix is set, but in sidecar mode/);
});
