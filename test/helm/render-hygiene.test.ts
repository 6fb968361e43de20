/**
 * The forward-auth hygiene recipe for the proxy chosen (README "Keep Flower's side clean"), as the
 * chart renders it with Helm 3 and Helm 4: ingress-nginx snippet annotations (opt-in, the README's
 * lines verbatim), Traefik's headers Middleware chained after forwardAuth, and the Gateway API
 * ExternalAuth route's ResponseHeaderModifier. Each next to the render without it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { CHART, HELMS, type K8sObject, render, runHelm, templateArgs } from '../../scripts/k8s/helm.ts';
import { validateObject } from '../../scripts/k8s/validate.ts';
import { readmeRecipe } from '../support/hygiene-recipes.ts';
import { forwardAuth, one } from './render-helpers.ts';

const CONFIGURATION_SNIPPET = 'nginx.ingress.kubernetes.io/configuration-snippet';
const SERVER_SNIPPET = 'nginx.ingress.kubernetes.io/server-snippet';
const TRAEFIK_CHAIN = 'traefik.ingress.kubernetes.io/router.middlewares';
const FLOWER_CORS = [
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Headers',
  'Access-Control-Allow-Methods',
];

const ingress = (controller: string, extra: Record<string, unknown> = {}) => ({
  ...forwardAuth,
  ingress: {
    enabled: true,
    controller,
    host: 'flower.example.com',
    flowerService: { name: 'flower', port: 5555 },
    ...extra,
  },
});
const externalAuthRoute = (hygiene?: boolean) => ({
  ...forwardAuth,
  httpRoute: {
    enabled: true,
    externalAuth: true,
    parentRefs: [{ name: 'gw' }],
    hostnames: ['flower.example.com'],
    flowerService: { name: 'flower', port: 5555 },
    ...(hygiene === undefined ? {} : { hygiene }),
  },
});
const valid = (t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, objects: K8sObject[]) => {
  for (const object of objects) {
    const { errors } = validateObject(object);
    t.deepEqual(errors, [], `${object.kind} ${object.metadata.name}`);
  }
};

test('the chart ships the README nginx hygiene recipe verbatim', (t) => {
  t.is(
    readFileSync(join(CHART, 'files/nginx-hygiene-location.conf'), 'utf8'),
    readmeRecipe('nginx-location'),
  );
  t.is(readFileSync(join(CHART, 'files/nginx-hygiene-server.conf'), 'utf8'), readmeRecipe('nginx-server'));
});

for (const helm of HELMS) {
  test(`${helm}: ingress-nginx snippets are off by default and, when on, are the README's lines for this release`, async (t) => {
    const without = one(await render(helm, { values: ingress('ingress-nginx') }), 'Ingress', 'flowergate');
    t.is(without.metadata.annotations?.[CONFIGURATION_SNIPPET], undefined);
    t.is(without.metadata.annotations?.[SERVER_SNIPPET], undefined);

    const values = ingress('ingress-nginx', { nginx: { hygieneSnippets: true } });
    // Release flowergate in namespace flower: the README's own service URL, so the text is identical.
    const objects = await render(helm, { values, namespace: 'flower' });
    valid(t, objects);
    const annotations = one(objects, 'Ingress', 'flowergate').metadata.annotations ?? {};
    t.is(annotations[CONFIGURATION_SNIPPET], readmeRecipe('nginx-location'));
    t.is(annotations[SERVER_SNIPPET], readmeRecipe('nginx-server'));
    t.is(
      one(objects, 'Ingress', 'flowergate-pages').metadata.annotations?.[SERVER_SNIPPET],
      undefined,
      'the named location is defined once per host',
    );

    // Another release and namespace: the 403 page comes from that release's Service.
    const other = await render(helm, { values, release: 'gate', namespace: 'celery' });
    const server = one(other, 'Ingress', 'gate-flowergate').metadata.annotations?.[SERVER_SNIPPET];
    t.true(server?.includes('proxy_pass http://gate-flowergate.celery.svc.cluster.local:4180;'), server);
    t.false(server?.includes('flowergate.flower.svc'), server);
  });

  test(`${helm}: Traefik chains a headers Middleware after forwardAuth that drops the cookie and Flower's CORS headers`, async (t) => {
    const apis = ['traefik.io/v1alpha1/Middleware'];
    const objects = await render(helm, { values: ingress('traefik'), apiVersions: apis });
    valid(t, objects);
    const hygiene = one(objects, 'Middleware', 'flowergate-hygiene');
    t.deepEqual(hygiene.spec, (parseYaml(readmeRecipe('traefik-headers')) as K8sObject).spec, "the README's");
    t.deepEqual(hygiene.spec.headers.customRequestHeaders, { Cookie: '' });
    t.deepEqual(
      hygiene.spec.headers.customResponseHeaders,
      Object.fromEntries(FLOWER_CORS.map((h) => [h, ''])),
    );
    t.is(
      one(objects, 'Ingress', 'flowergate').metadata.annotations?.[TRAEFIK_CHAIN],
      'flowergate-flowergate@kubernetescrd,flowergate-flowergate-hygiene@kubernetescrd',
      'forwardAuth first, so flowergate still sees the session cookie',
    );

    const off = await render(helm, {
      values: { ...ingress('traefik'), traefik: { middleware: { hygiene: false } } },
      apiVersions: apis,
    });
    t.deepEqual(
      off.filter((o) => o.kind === 'Middleware').map((o) => o.metadata.name),
      ['flowergate'],
    );
    t.is(
      one(off, 'Ingress', 'flowergate').metadata.annotations?.[TRAEFIK_CHAIN],
      'flowergate-flowergate@kubernetescrd',
    );
  });

  test(`${helm}: the ExternalAuth route removes Flower's CORS headers from responses, never the cookie before the check`, async (t) => {
    const objects = await render(helm, { values: externalAuthRoute() });
    valid(t, objects);
    const rule = one(objects, 'HTTPRoute').spec.rules.find((r: { filters?: { type: string }[] }) =>
      r.filters?.some((f) => f.type === 'ExternalAuth'),
    );
    t.deepEqual(
      rule.filters.map((f: { type: string }) => f.type),
      ['ExternalAuth', 'ResponseHeaderModifier'],
      'no RequestHeaderModifier: removed first, the cookie would never reach flowergate',
    );
    t.deepEqual(rule.filters[1].responseHeaderModifier, { remove: FLOWER_CORS });

    const off = await render(helm, { values: externalAuthRoute(false) });
    const offRule = one(off, 'HTTPRoute').spec.rules.find((r: { filters?: unknown[] }) => r.filters);
    t.deepEqual(
      offRule.filters.map((f: { type: string }) => f.type),
      ['ExternalAuth'],
    );
  });
}

test('the chart refuses hygiene snippets next to a snippet annotation of your own', async (t) => {
  const result = await runHelm(
    'helm4',
    templateArgs({
      values: ingress('ingress-nginx', {
        nginx: { hygieneSnippets: true },
        annotations: { [CONFIGURATION_SNIPPET]: 'more_set_headers "X-Frame-Options: DENY";' },
      }),
    }),
  );
  t.not(result.code, 0);
  t.regex(result.stderr, /ingress\.annotations sets nginx\.ingress\.kubernetes\.io\/configuration-snippet/);
  // The same annotation without the chart's snippets is the user's to set.
  const own = await runHelm(
    'helm4',
    templateArgs({
      values: ingress('ingress-nginx', {
        annotations: { [CONFIGURATION_SNIPPET]: 'more_set_headers "X-Frame-Options: DENY";' },
      }),
    }),
  );
  t.is(own.code, 0, own.stderr);
});

test('validation refuses a ResponseHeaderModifier that does more than remove headers', (t) => {
  const route = (modifier: unknown): K8sObject =>
    ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r' },
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: modifier }],
            backendRefs: [{ name: 'flower', port: 5555 }],
          },
        ],
      },
    }) as K8sObject;
  t.deepEqual(validateObject(route({ remove: ['Access-Control-Allow-Origin'] })).errors, []);
  t.true(validateObject(route({ set: [{ name: 'X', value: 'y' }] })).errors.length > 0);
  t.true(validateObject(route({ remove: ['bad header'] })).errors.length > 0);
});
