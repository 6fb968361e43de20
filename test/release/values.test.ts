/**
 * The release's pure parts: RELEASE_REGISTRY parsing (plain HTTP only for this machine, never for a
 * look-alike host) and the chart's values pinned to the pushed digest, comments and all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { CHART } from '../../scripts/k8s/helm.ts';
import { pinImage, registryTarget } from '../../scripts/release/values.ts';

test('RELEASE_REGISTRY is host[:port]/namespace; plain HTTP only for 127.0.0.1 and localhost', (t) => {
  t.like(registryTarget('ghcr.io/acme'), { registry: 'ghcr.io/acme', namespace: 'acme', plainHttp: false });
  t.like(registryTarget('127.0.0.1:5000/acme/tools'), { host: '127.0.0.1:5000', plainHttp: true });
  t.like(registryTarget('localhost:5000/acme'), { plainHttp: true });
  // Look-alikes of a local registry get TLS like any other host.
  for (const host of ['localhost.evil.example', '127.0.0.1.nip.io', 'registry.localhost.example:5000'])
    t.false(registryTarget(`${host}/acme`).plainHttp, host);
});

test('RELEASE_REGISTRY refuses what is not a registry and a namespace, saying why', (t) => {
  const refused: [string, RegExp][] = [
    ['', /not set/],
    ['https://ghcr.io/acme', /scheme/],
    ['ghcr.io', /namespace/],
    ['ghcr.io/Acme', /namespace/],
    ['ghcr.io/acme/../other', /namespace/],
    ['ghcr.io/acme flowergate', /namespace/],
    ['gh cr.io/acme', /host/],
    ['ghcr.io:port/acme', /host/],
  ];
  for (const [value, message] of refused) t.throws(() => registryTarget(value), { message }, value);
});

test('pinImage names the pushed repository by digest and changes nothing else in values.yaml', (t) => {
  const original = readFileSync(join(CHART, 'values.yaml'), 'utf8');
  const digest = `sha256:${'ab'.repeat(32)}`;
  const pinned = pinImage(original, { repository: '127.0.0.1:5000/acme/flowergate', digest });
  const values = parseYaml(pinned) as {
    image: Record<string, string>;
    flower: { image: Record<string, string> };
  };
  t.deepEqual(values.image, {
    registry: '127.0.0.1:5000',
    repository: 'acme/flowergate',
    tag: '',
    digest,
    pullPolicy: 'IfNotPresent',
  });
  t.is(values.flower.image['digest'], '', "Flower's image is not touched");
  const changed = pinned.split('\n').filter((line, i) => line !== original.split('\n')[i]);
  t.deepEqual(changed, [
    '  registry: 127.0.0.1:5000',
    '  repository: acme/flowergate',
    `  digest: "${digest}"`,
  ]);
  t.throws(() => pinImage(original, { repository: 'r/x', digest: 'latest' }), {
    message: /not an image digest/,
  });
});
