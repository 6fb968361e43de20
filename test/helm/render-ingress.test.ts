/**
 * How traffic reaches flowergate in forward-auth mode (Helm 4): ingress-nginx's keep-alive and
 * verdict cache, the whoami page beside the protected host, NetworkPolicy presets for the common
 * controllers, and Gateway API's ExternalAuth filter.
 */
import test from 'ava';
import { runHelm, templateArgs } from '../../scripts/k8s/helm.ts';
import { containerEnv } from './pod-env.ts';
import { forwardAuth, kinds, one, renderWith, sidecar } from './render-helpers.ts';

const startupConfigHosts = (objects: Awaited<ReturnType<typeof renderWith>>) =>
  containerEnv(objects)['FLOWERGATE_ALLOWED_HOSTS'];

const nginxIngress = {
  ...forwardAuth,
  ingress: { enabled: true, host: 'flower.example.com', flowerService: { name: 'flower', port: 5555 } },
};
const annotationsOf = async (values: Record<string, unknown>) =>
  one(await renderWith(values), 'Ingress', 'flowergate').metadata.annotations ?? {};

test('ingress-nginx keeps auth connections alive by default and caches nothing unless asked', async (t) => {
  const annotations = await annotationsOf(nginxIngress);
  t.is(annotations['nginx.ingress.kubernetes.io/auth-keepalive'], '32');
  t.is(annotations['nginx.ingress.kubernetes.io/auth-keepalive-requests'], '1000');
  t.is(annotations['nginx.ingress.kubernetes.io/auth-keepalive-timeout'], '60');
  t.is(annotations['nginx.ingress.kubernetes.io/auth-cache-key'], undefined);
  const off = await annotationsOf({
    ...nginxIngress,
    ingress: { ...nginxIngress.ingress, nginx: { authKeepalive: 0 } },
  });
  t.is(off['nginx.ingress.kubernetes.io/auth-keepalive'], undefined);
});

test("ingress-nginx's verdict cache keys on everything the verdict depends on, caches only allows", async (t) => {
  const annotations = await annotationsOf({
    ...nginxIngress,
    config: { django: { sessionCookieName: 'app_session' }, cache: { allowTtl: 10 } },
    ingress: { ...nginxIngress.ingress, nginx: { authCacheSeconds: 10 } },
  });
  const key = annotations['nginx.ingress.kubernetes.io/auth-cache-key'];
  // A different session, bearer token, method or URL must never share an entry.
  for (const part of [
    '$cookie_app_session',
    '$http_authorization',
    '$request_method',
    '$host',
    '$request_uri',
  ])
    t.true(key?.includes(part), `${part} in ${key}`);
  t.is(annotations['nginx.ingress.kubernetes.io/auth-cache-duration'], '200 10s');
});

const refused: [string, Record<string, unknown>, RegExp][] = [
  [
    'a verdict cache longer than the allow TTL',
    { ...nginxIngress, ingress: { ...nginxIngress.ingress, nginx: { authCacheSeconds: 6 } } },
    /authCacheSeconds \(6\) is longer than config\.cache\.allowTtl \(5\)/,
  ],
  [
    'a verdict cache with a rule on client networks',
    {
      ...nginxIngress,
      config: { policy: { rules: [{ name: 'office', networks: ['10.0.0.0/8'], require: 'staff' }] } },
      ingress: { ...nginxIngress.ingress, nginx: { authCacheSeconds: 5 } },
    },
    /policy rule "office" matches client networks/,
  ],
  [
    'an ExternalAuth route without your Flower Service',
    { ...forwardAuth, httpRoute: { enabled: true, externalAuth: true, parentRefs: [{ name: 'gw' }] } },
    /set httpRoute\.flowerService\.name/,
  ],
  [
    'an HTTPRoute in forward-auth mode without the ExternalAuth opt-in',
    { ...forwardAuth, httpRoute: { enabled: true, parentRefs: [{ name: 'gw' }] } },
    /set httpRoute\.externalAuth/,
  ],
];
for (const [title, values, message] of refused) {
  test(`the chart refuses ${title}`, async (t) => {
    const result = await runHelm('helm4', templateArgs({ values }));
    t.not(result.code, 0);
    t.regex(result.stderr, message);
  });
}

test('forward-auth: whoami has its own Ingress on the host, without the auth annotations', async (t) => {
  for (const controller of ['ingress-nginx', 'traefik']) {
    const objects = await renderWith({ ...nginxIngress, ingress: { ...nginxIngress.ingress, controller } }, [
      'traefik.io/v1alpha1/Middleware',
    ]);
    const whoami = one(objects, 'Ingress', 'flowergate-pages');
    t.deepEqual(Object.keys(whoami.metadata.annotations ?? {}), [], `${controller}: no auth on whoami`);
    t.deepEqual(whoami.spec.rules[0].host, 'flower.example.com');
    t.deepEqual(whoami.spec.rules[0].http.paths, [
      {
        path: '/_flowergate/whoami',
        pathType: 'Exact',
        backend: { service: { name: 'flowergate', port: { name: 'http' } } },
      },
    ]);
    // The protected Ingress still carries its auth wiring.
    t.true(Object.keys(one(objects, 'Ingress', 'flowergate').metadata.annotations ?? {}).length > 0);
  }
  const without = await renderWith({ ...nginxIngress, ingress: { ...nginxIngress.ingress, whoami: false } });
  t.is(kinds(without).filter((k) => k === 'Ingress').length, 1);
  const side = await renderWith({ ...sidecar, ingress: { enabled: true, host: 'flower.example.com' } });
  t.is(kinds(side).filter((k) => k === 'Ingress').length, 1, 'sidecar: whoami is a path of the one Ingress');
});

test("ingress-nginx auth-signin: through flowergate's sign_in when a host is allowed, else straight to Django", async (t) => {
  const login = { django: { loginUrl: 'https://www.example.com/accounts/login/' } };
  const objects = await renderWith({ ...nginxIngress, config: login });
  t.is(
    one(objects, 'Ingress', 'flowergate').metadata.annotations?.['nginx.ingress.kubernetes.io/auth-signin'],
    'https://$host/_flowergate/sign_in',
  );
  const paths = one(objects, 'Ingress', 'flowergate-pages').spec.rules[0].http.paths.map(
    (p: { path: string; pathType: string }) => `${p.pathType} ${p.path}`,
  );
  t.deepEqual(
    paths,
    ['Exact /_flowergate/whoami', 'Exact /_flowergate/sign_in'],
    'exact paths, nothing else of /_flowergate/',
  );
  t.is(startupConfigHosts(objects), 'flower.example.com', 'sign_in can check the way back');

  // No host the chart routes, none configured: sign_in could not check rd, so Django's login it is.
  const hostless = await renderWith({
    ...forwardAuth,
    config: login,
    ingress: { enabled: true, flowerService: { name: 'flower' }, whoami: false },
  });
  const annotations = one(hostless, 'Ingress', 'flowergate').metadata.annotations ?? {};
  t.is(annotations['nginx.ingress.kubernetes.io/auth-signin'], 'https://www.example.com/accounts/login/');
  t.is(annotations['nginx.ingress.kubernetes.io/auth-signin-redirect-param'], 'next');
  t.is(kinds(hostless).filter((k) => k === 'Ingress').length, 1, 'nothing to route to flowergate');
});

test('NetworkPolicy presets name each controller by namespace and pod labels, k3s Traefik included', async (t) => {
  const peersOf = async (presets: string[], ingressFrom: unknown[] = []) =>
    one(
      await renderWith({ ...forwardAuth, networkPolicy: { ingressPresets: presets, ingressFrom } }),
      'NetworkPolicy',
      'flowergate',
    ).spec.ingress[0].from.filter(
      (p: { podSelector?: { matchLabels?: Record<string, string> } }) =>
        // the helm test pod's own peer is not a preset
        p.podSelector?.matchLabels?.['app.kubernetes.io/component'] !== 'helm-test',
    );
  t.deepEqual(await peersOf(['traefik-k3s']), [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
    },
  ]);
  const defaults = one(await renderWith(forwardAuth), 'NetworkPolicy', 'flowergate').spec.ingress[0].from;
  const namespaces = defaults.map(
    (p: { namespaceSelector?: { matchLabels?: Record<string, string> } }) =>
      p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'],
  );
  for (const ns of ['ingress-nginx', 'traefik', 'kube-system', 'envoy-gateway-system'])
    t.true(namespaces.includes(ns), ns);
  const own = { ipBlock: { cidr: '10.42.0.0/16' } };
  t.deepEqual((await peersOf([], [own])).at(-1), own, 'ingressFrom adds to the presets');
  const istio = (await peersOf(['istio']))[0];
  t.deepEqual(istio.podSelector.matchLabels, { istio: 'ingressgateway' });
  // A kube-system pod that is not Traefik (labels differ) matches no preset.
  t.false(
    (await peersOf(['traefik-k3s'])).some(
      (p: { podSelector?: { matchLabels?: Record<string, string> } }) => !p.podSelector?.matchLabels,
    ),
    'no preset lets a whole namespace in',
  );
});

test("Gateway API ExternalAuth: the route asks flowergate's Envoy endpoint, then goes to your Flower", async (t) => {
  const objects = await renderWith({
    ...forwardAuth,
    httpRoute: {
      enabled: true,
      externalAuth: true,
      parentRefs: [{ name: 'public', namespace: 'gateway' }],
      hostnames: ['flower.example.com'],
      flowerService: { name: 'flower', port: 5555 },
    },
  });
  const route = one(objects, 'HTTPRoute');
  const [whoami, flower] = route.spec.rules;
  t.is(whoami.matches[0].path.value, '/_flowergate/whoami');
  t.is(whoami.filters, undefined, 'whoami is not behind the check');
  const auth = flower.filters[0];
  t.is(auth.type, 'ExternalAuth');
  t.is(auth.externalAuth.protocol, 'HTTP');
  t.deepEqual(auth.externalAuth.backendRef, { name: 'flowergate', port: 4180 });
  t.is(auth.externalAuth.http.path, '/_flowergate/auth/envoy');
  t.true(auth.externalAuth.http.allowedHeaders.includes('cookie'), 'the Django session reaches flowergate');
  t.deepEqual(auth.externalAuth.http.allowedResponseHeaders, [
    'X-Auth-Request-User',
    'X-Auth-Request-Email',
    'X-Auth-Request-Groups',
  ]);
  t.deepEqual(flower.backendRefs, [{ name: 'flower', port: 5555 }]);
});
