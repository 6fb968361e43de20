/**
 * manifests/ is exactly what the chart renders today, each variant builds with `kubectl kustomize`
 * (kubectl 1.35 from npm, kustomize v5.7), and every object passes offline validation.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { type K8sObject, parseManifests } from '../../scripts/k8s/helm.ts';
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
    t.is(objects.length, direct.length + 1, 'plus the generated configuration ConfigMap');
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

const kustomize = async (dir: string) =>
  parseManifests(
    (
      await promisify(execFile)(ensureTool('kubectl'), ['kustomize', dir], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', KUBECONFIG: '/nonexistent' },
        maxBuffer: 16 * 1024 * 1024,
      })
    ).stdout,
  );
/** The configuration ConfigMap's name, and the name the Deployment's pods mount. */
const configNames = (objects: K8sObject[]) => {
  const map = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('flowergate-') && o['data']?.['config.yaml'],
  );
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const volume = deployment?.['spec'].template.spec.volumes.find(
    (v: { name: string }) => v.name === 'config',
  );
  return { map: map?.metadata.name, mounted: volume?.configMap.name as string | undefined };
};

test('an edit of config.yaml renames its ConfigMap and so rolls the Deployment; no edit, no roll', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'flowergate-kustomize-'));
  try {
    const [a, b] = [join(work, 'a'), join(work, 'b')];
    cpSync(join(MANIFESTS, 'forward-auth-nginx'), a, { recursive: true });
    cpSync(join(MANIFESTS, 'forward-auth-nginx'), b, { recursive: true });
    const before = configNames(await kustomize(a));
    t.regex(before.map ?? '', /^flowergate-[a-z0-9]{10}$/, 'a content-hash name');
    t.is(before.mounted, before.map, 'the pods mount the generated ConfigMap');
    t.deepEqual(configNames(await kustomize(b)), before, 'the same content, the same name');
    appendFileSync(join(b, 'config.yaml'), 'cache:\n  allowTtl: 5\n');
    const after = configNames(await kustomize(b));
    t.not(after.map, before.map);
    t.is(after.mounted, after.map);
    t.false(
      (await kustomize(a)).some(
        (o) => o.kind === 'Deployment' && o['spec'].template.metadata.annotations?.['checksum/config'],
      ),
      'no stale chart checksum',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
