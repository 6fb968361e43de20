/**
 * values.schema.json rejects wrong types and unknown keys, and the `validate` template rejects
 * contradictory settings, with both Helm 3 and Helm 4. Schema failures are asserted by exit code
 * only (the two versions word them differently); contradictions also by the chart's own message,
 * which is the same in both.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { CHART, HELMS, runHelm, templateArgs } from '../../scripts/k8s/helm.ts';
import { renderValuesSchema, SCHEMA_PATH } from '../../scripts/k8s/values-schema.ts';

const sidecar = {
  mode: 'sidecar',
  secrets: {
    djangoSecretKey: 'k',
    djangoDatabaseUrl: 'postgres://u:p@db/app',
    celeryBrokerUrl: 'redis://r:6379/0',
  },
};
const forwardAuth = { mode: 'forward-auth', secrets: { existingSecret: 'flowergate' } };

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

test('values.schema.json is generated from scripts/k8s/values-schema.ts and the app config schema', (t) => {
  t.is(
    readFileSync(SCHEMA_PATH, 'utf8'),
    renderValuesSchema(),
    'out of date: run npx node scripts/k8s/values-schema.ts (src/config/schema.ts or the script changed)',
  );
});

test('values.schema.json is draft-07, closed at the top and self-contained (no remote $ref)', (t) => {
  const text = readFileSync(SCHEMA_PATH, 'utf8');
  const schema = JSON.parse(text) as Record<string, unknown>;
  t.is(schema['$schema'], 'http://json-schema.org/draft-07/schema#');
  t.is(schema['additionalProperties'], false);
  const refs = [...text.matchAll(/"\$ref":\s*"([^"]+)"/g)].map((m) => m[1]!);
  t.true(refs.length > 0);
  t.deepEqual(
    refs.filter((r) => !r.startsWith('#/')),
    [],
  );
});

test('values.yaml documents every top-level key of the schema', (t) => {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { properties: Record<string, unknown> };
  const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
  for (const key of Object.keys(schema.properties)) {
    t.regex(valuesText, new RegExp(`^${key}:`, 'm'), `${key} is missing from values.yaml`);
    t.regex(valuesText, new RegExp(`@param ${key}[ .]`), `${key} has no @param documentation`);
  }
});

test('values.yaml documents every value (a @param on it or on an enclosing key), and only existing ones', (t) => {
  const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');
  const documented = new Set([...text.matchAll(/@param ([\w.]+)/g)].map((m) => m[1]!));
  const values = parseYaml(text) as Record<string, unknown>;
  const exists = (path: string) => {
    let node: unknown = values;
    for (const key of path.split('.')) {
      if (!node || typeof node !== 'object' || !(key in node)) return false;
      node = (node as Record<string, unknown>)[key];
    }
    return true;
  };
  for (const path of documented)
    t.true(exists(path), `@param ${path} documents a key values.yaml does not have`);
  const undocumented: string[] = [];
  (function walk(node: unknown, path: string) {
    if (path && documented.has(path)) return;
    if (node && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length > 0) {
      for (const [key, child] of Object.entries(node)) walk(child, path ? `${path}.${key}` : key);
    } else {
      undocumented.push(path);
    }
  })(values, '');
  t.deepEqual(undocumented, []);
});

/** Cases the JSON schema must refuse: [title, values]. */
const schemaCases: [string, Record<string, unknown>][] = [
  ['an unknown mode', merge(sidecar, { mode: 'proxy' })],
  ['replicaCount as a string', merge(forwardAuth, { replicaCount: 'two' })],
  ['replicaCount 0', merge(forwardAuth, { replicaCount: 0 })],
  ['an unknown top-level key', merge(sidecar, { bogus: true })],
  ['an unknown nested key (secrets.secretKey)', merge(sidecar, { secrets: { secretKey: 'k' } })],
  ['service.port as a name', merge(sidecar, { service: { port: 'http' } })],
  ['a malformed image digest', merge(sidecar, { image: { digest: 'sha256:xyz' } })],
  ['an image pullPolicy typo', merge(sidecar, { image: { pullPolicy: 'Sometimes' } })],
  [
    'a misspelled config key (config.django.sesionEngine)',
    merge(sidecar, { config: { django: { sesionEngine: 'db' } } }),
  ],
  [
    'a policy requirement flowergate does not know',
    merge(sidecar, { config: { policy: { default: 'admin' } } }),
  ],
  [
    'a policy rule without require',
    merge(sidecar, { config: { policy: { rules: [{ path: { prefix: '/' } }] } } }),
  ],
  ['a chart-owned config key (config.upstream)', merge(sidecar, { config: { upstream: 'http://x' } })],
  [
    'a secret in config (config.django.secretKey)',
    merge(sidecar, { config: { django: { secretKey: 'k' } } }),
  ],
  [
    'config.kubernetes.tokenAuth as a string',
    merge(sidecar, { config: { kubernetes: { tokenAuth: 'yes' } } }),
  ],
  [
    'a tri-state switch with another word',
    merge(forwardAuth, { traefik: { middleware: { enabled: 'maybe' } } }),
  ],
  ['flower.port colliding with flowergate', merge(sidecar, { flower: { port: 4180 } })],
  ['flower.urlPrefix with a trailing slash', merge(sidecar, { flower: { urlPrefix: '/flower/' } })],
  [
    'a ServiceMonitor interval without a unit',
    merge(sidecar, { metrics: { serviceMonitor: { interval: 30 } } }),
  ],
  [
    'a PDB minAvailable that is neither a number nor a percentage',
    merge(sidecar, { podDisruptionBudget: { minAvailable: 'one' } }),
  ],
  ['an unknown securityContext field', merge(sidecar, { securityContext: { runAsRoot: false } })],
  [
    'a database URL with an unknown scheme',
    merge(sidecar, { secrets: { djangoDatabaseUrl: 'oracle://db/app' } }),
  ],
];

/** Contradictions the `validate` template must refuse: [title, values, words of the chart's message]. */
const contradictionCases: [string, Record<string, unknown>, string][] = [
  ['no SECRET_KEY at all', { mode: 'forward-auth' }, "Django's SECRET_KEY is missing"],
  [
    'no database URL',
    merge(forwardAuth, { secrets: { existingSecret: '', djangoSecretKey: 'k' } }),
    'database URL is missing',
  ],
  [
    'existingSecret and an inline secret together',
    merge(forwardAuth, { secrets: { djangoSecretKey: 'k' } }),
    'secrets.djangoSecretKey is set, but secrets.existingSecret',
  ],
  [
    'sidecar without a broker URL',
    merge(sidecar, { secrets: { celeryBrokerUrl: '' } }),
    "needs Celery's broker URL",
  ],
  [
    'a broker URL in forward-auth mode',
    { mode: 'forward-auth', secrets: sidecar.secrets },
    'only used in sidecar mode',
  ],
  ['sidecar with 2 replicas', merge(sidecar, { replicaCount: 2 }), 'replicaCount is 2'],
  [
    'sidecar with autoscaling',
    merge(sidecar, { autoscaling: { enabled: true } }),
    'autoscaling needs mode forward-auth',
  ],
  [
    'autoscaling min above max',
    merge(forwardAuth, { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 3 } }),
    'minReplicas (5) is greater',
  ],
  [
    'a PDB with both minAvailable and maxUnavailable',
    merge(forwardAuth, { podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } }),
    'not both',
  ],
  [
    'a PDB that blocks every drain',
    merge(forwardAuth, { podDisruptionBudget: { minAvailable: 2, maxUnavailable: null } }),
    'no node could ever be drained',
  ],
  [
    'a grace period shorter than the drain',
    merge(forwardAuth, { terminationGracePeriodSeconds: 10 }),
    'Kubernetes would kill flowergate while it drains',
  ],
  [
    'a Traefik Middleware in sidecar mode',
    merge(sidecar, { traefik: { middleware: { enabled: true } } }),
    'in sidecar mode',
  ],
  [
    'a SecurityPolicy in sidecar mode',
    merge(sidecar, { envoyGateway: { securityPolicy: { enabled: true } } }),
    'in sidecar mode',
  ],
  [
    'an HTTPRoute in forward-auth mode',
    merge(forwardAuth, { httpRoute: { enabled: true, parentRefs: [{ name: 'gw' }] } }),
    'httpRoute.enabled',
  ],
  [
    'a forward-auth Ingress without the Flower Service',
    merge(forwardAuth, { ingress: { enabled: true } }),
    'ingress.flowerService.name',
  ],
  [
    'a Traefik Ingress without the Middleware it needs',
    merge(forwardAuth, {
      ingress: { enabled: true, controller: 'traefik', flowerService: { name: 'flower' } },
    }),
    'Middleware it would reference is not rendered',
  ],
  [
    'a SecurityPolicy without targets',
    merge(forwardAuth, { envoyGateway: { securityPolicy: { enabled: true } } }),
    'targetRefs is empty',
  ],
  [
    'Flower basic auth behind flowergate',
    merge(sidecar, { flower: { extraArgs: ['--basic_auth=a:b'] } }),
    '--basic_auth',
  ],
  [
    'Flower bound to all interfaces',
    merge(sidecar, { flower: { extraArgs: ['--address=0.0.0.0'] } }),
    '--address',
  ],
  [
    'a ServiceMonitor and a PodMonitor',
    merge(sidecar, { metrics: { podMonitor: { enabled: true }, serviceMonitor: { enabled: true } } }),
    'scrape every pod twice',
  ],
  [
    'a NetworkPolicy nobody passes',
    merge(sidecar, { networkPolicy: { ingressFrom: [], ingressPresets: [] } }),
    'nothing could reach flowergate',
  ],
  [
    'token reviews granted to the default ServiceAccount',
    merge(sidecar, { config: { kubernetes: { tokenAuth: true } }, serviceAccount: { create: false } }),
    '"default" ServiceAccount',
  ],
];

for (const helm of HELMS) {
  for (const [title, values] of schemaCases) {
    test(`${helm}: the schema refuses ${title}`, async (t) => {
      const result = await runHelm(helm, templateArgs({ values }));
      t.not(result.code, 0, result.stdout.slice(0, 400));
    });
  }
  for (const [title, values, words] of contradictionCases) {
    test(`${helm}: validate refuses ${title}`, async (t) => {
      const result = await runHelm(helm, templateArgs({ values }));
      t.not(result.code, 0, result.stdout.slice(0, 400));
      t.true(result.stderr.includes(words), result.stderr);
    });
  }
  test(`${helm}: helm lint also applies the schema`, async (t) => {
    const result = await runHelm(helm, [
      'lint',
      CHART,
      '--set',
      'replicaCount=two',
      '--set',
      'mode=forward-auth',
    ]);
    t.not(result.code, 0);
  });
  test(`${helm}: the minimal valid values render (sanity check for the cases above)`, async (t) => {
    for (const values of [sidecar, forwardAuth]) {
      const result = await runHelm(helm, templateArgs({ values }));
      t.is(result.code, 0, result.stderr);
    }
  });
}
