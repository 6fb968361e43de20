/**
 * manifests/ is exactly what the chart renders today, each variant builds with `kubectl kustomize`
 * (kubectl 1.35 from npm, kustomize v5.7), and every object passes offline validation.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { parseManifests } from '../../scripts/k8s/helm.ts';
import {
  MANIFESTS,
  NAMESPACE,
  renderManifests,
  VARIANTS,
  type Variant,
} from '../../scripts/k8s/render-manifests.ts';
import { ensureTool } from '../../scripts/k8s/tools.ts';
import { validateObject } from '../../scripts/k8s/validate.ts';

const rendered = renderManifests();

test('manifests/ has not drifted from the chart', async (t) => {
  for (const [path, text] of await rendered) {
    let current = '';
    try {
      current = readFileSync(join(MANIFESTS, path), 'utf8');
    } catch {}
    t.is(current, text, `manifests/${path} is out of date: run npx node scripts/k8s/render-manifests.ts`);
  }
});

for (const variant of Object.keys(VARIANTS) as Variant[]) {
  test(`kubectl kustomize builds manifests/${variant}, and every object is valid`, async (t) => {
    const { stdout } = await promisify(execFile)(
      ensureTool('kubectl'),
      ['kustomize', join(MANIFESTS, variant)],
      {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', KUBECONFIG: '/nonexistent' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const objects = parseManifests(stdout);
    const direct = parseManifests(readFileSync(join(MANIFESTS, variant, 'flowergate.yaml'), 'utf8'));
    t.is(objects.length, direct.length);
    for (const object of objects) {
      t.is(object.metadata.namespace ?? NAMESPACE, NAMESPACE);
      t.is(object.metadata.labels?.['app.kubernetes.io/managed-by'], undefined);
      t.false(object.kind === 'Secret', 'plain manifests never carry secret values');
      const { by, errors } = validateObject(object);
      t.deepEqual(errors, [], `${object.kind} ${object.metadata.name} (${by})`);
    }
    t.truthy(objects.find((o) => o.kind === 'Deployment'));
  });
}
