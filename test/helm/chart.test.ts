/**
 * Every ci/*-values.yaml and examples/helm/values-*.yaml passes `helm lint --strict` (the values
 * schema included) and renders with Helm 3 and Helm 4, with and
 * without the optional APIs (Prometheus Operator, Traefik, Gateway API, Envoy Gateway), and every
 * rendered object passes offline validation (kubernetes-models, or a structural check for kinds
 * without a model).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ALL_APIS, CHART, HELMS, ROOT, render, runHelm } from '../../scripts/k8s/helm.ts';
import { validateObject } from '../../scripts/k8s/validate.ts';

const ciFiles = readdirSync(join(CHART, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .sort();
/** The users' examples (examples/helm/values-*.yaml) are held to the same standard. */
const EXAMPLES = join(ROOT, 'examples/helm');
const exampleFiles = readdirSync(EXAMPLES).filter((name) => /^values-.*\.yaml$/.test(name));
const valuesFileList = [
  ...ciFiles.map((file) => ({ label: `ci/${file}`, path: join(CHART, 'ci', file) })),
  ...exampleFiles.map((file) => ({ label: `examples/helm/${file}`, path: join(EXAMPLES, file) })),
];

test('the chart has CI values for both topologies, and examples', (t) => {
  t.true(ciFiles.some((f) => f.startsWith('sidecar')));
  t.true(ciFiles.some((f) => f.startsWith('forward-auth')));
  t.true(exampleFiles.length >= 3);
});

for (const helm of HELMS) {
  for (const { label: file, path } of valuesFileList) {
    const valuesFiles = [path];

    test(`${helm}: helm lint --strict passes with ${file}`, async (t) => {
      const result = await runHelm(helm, ['lint', '--strict', CHART, '--values', valuesFiles[0]!]);
      t.is(result.code, 0, result.stdout + result.stderr);
    });

    for (const apis of [[], ALL_APIS] as const) {
      const label = apis.length ? 'with every optional API' : 'on a bare cluster';
      test(`${helm}: ${file} renders valid objects ${label}`, async (t) => {
        const objects = await render(helm, { valuesFiles, apiVersions: apis });
        t.true(objects.some((o) => o.kind === 'Deployment'));
        for (const object of objects) {
          const { by, errors } = validateObject(object);
          t.deepEqual(errors, [], `${object.apiVersion}/${object.kind} ${object.metadata.name} (${by})`);
        }
      });
    }
  }

  test(`${helm}: renders for the oldest supported Kubernetes (1.25)`, async (t) => {
    const objects = await render(helm, {
      valuesFiles: [join(CHART, 'ci', 'forward-auth-nginx-values.yaml')],
      extraArgs: ['--kube-version', '1.25.0'],
    });
    t.true(objects.length > 0);
  });
}
