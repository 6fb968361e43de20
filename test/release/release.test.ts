/**
 * `npm run release` end to end against a real OCI registry on 127.0.0.1 (Debian's docker-registry,
 * a random free port, temporary storage, always stopped): the image and the chart are pushed; then,
 * as a user would, `helm pull oci://…` and `helm template` the pulled chart (its image is the pushed
 * digest), `podman pull` that digest and run it read-only: a request without a session is 401, the
 * superuser's session is 200. Also the SBOM is CycloneDX and lists what the image ships.
 *
 * The image is the one scripts/k8s/build-image.sh builds (the image test's, from podman's cache).
 * Skips loudly without docker-registry, podman or debootstrap; fails for it when CI=true.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests, ROOT, runHelm } from '../../scripts/k8s/helm.ts';
import { release } from '../../scripts/release/release.ts';
import { createDemoDatabase } from '../../src/demo/demo-database.ts';
import { askForward } from '../support/forward-request.ts';
import { freePort, makeTempDir, removeDir, requireBinary, startProcess } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';

const SECRET = 'release-test-secret-not-a-real-one';

const maybe = await toolTest(
  { name: 'docker-registry', check: () => requireBinary('docker-registry', 'docker-registry') },
  { name: 'podman', check: () => requireBinary('podman', 'podman') },
  { name: 'debootstrap', check: () => requireBinary('debootstrap', 'debootstrap') },
);

maybe(
  'the release pushes image and chart to a real OCI registry; both pull back, render and run',
  async (t) => {
    t.timeout(15 * 60_000);
    const work = makeTempDir('release');
    t.teardown(() => removeDir(work));
    const port = await freePort();
    writeFileSync(
      join(work, 'registry.yml'),
      `version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: ${join(work, 'storage')}}\n  delete: {enabled: true}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    await startProcess('docker-registry', ['serve', join(work, 'registry.yml')], {
      name: 'docker-registry',
      readyPort: port,
      removeOnOrphan: [work],
      t,
    });
    const conf = join(ROOT, '.cache/k8s/image/containers.conf');
    const env = { ...process.env, CONTAINERS_CONF: conf };

    const started = Date.now();
    const result = release({
      ...process.env,
      RELEASE_REGISTRY: `127.0.0.1:${port}/acme`,
      RELEASE_IMAGE: '',
      RELEASE_OUT: join(work, 'out'),
    });
    t.log(`release took ${Math.round((Date.now() - started) / 1000)} s`);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    t.is(result.version, version);
    t.regex(result.digest, /^sha256:[a-f0-9]{64}$/);
    t.is(result.image, `127.0.0.1:${port}/acme/flowergate@${result.digest}`);
    t.is(result.chart, `oci://127.0.0.1:${port}/acme/charts/flowergate`);
    t.deepEqual(JSON.parse(readFileSync(join(work, 'out/release.json'), 'utf8')), result);

    // The SBOM: CycloneDX, the production dependencies, none of the dev ones.
    const sbom = JSON.parse(readFileSync(result.sbom, 'utf8')) as {
      bomFormat: string;
      components: { name: string }[];
    };
    t.is(sbom.bomFormat, 'CycloneDX');
    const names = new Set(sbom.components.map((c) => c.name));
    for (const dep of ['koa', 'pg', 'mysql2', 'zod']) t.true(names.has(dep), `the SBOM lists ${dep}`);
    t.false(names.has('ava'), 'no devDependencies');

    // As a user: pull the chart from the registry and render it.
    const pulled = join(work, 'pulled');
    for (const helm of ['helm3', 'helm4'] as const) {
      mkdirSync(join(pulled, helm), { recursive: true });
      const pull = await runHelm(helm, [
        'pull',
        result.chart,
        '--version',
        version,
        '--plain-http',
        '--destination',
        join(pulled, helm),
      ]);
      t.is(pull.code, 0, `${helm} pull: ${pull.stderr}`);
      const rendered = await runHelm(helm, [
        'template',
        'flowergate',
        join(pulled, helm, `flowergate-${version}.tgz`),
        '--set',
        'secrets.existingSecret=flowergate',
      ]);
      t.is(rendered.code, 0, rendered.stderr);
      const deployment = parseManifests(rendered.stdout).find((o) => o.kind === 'Deployment');
      t.is(
        deployment?.['spec'].template.spec.containers[0].image,
        result.image,
        `${helm}: the pushed digest`,
      );
    }
    const missingVersion = await runHelm('helm4', [
      'pull',
      result.chart,
      '--version',
      '99.0.0',
      '--plain-http',
      '--destination',
      pulled,
    ]);
    t.not(missingVersion.code, 0, 'a version that was never pushed is not there');

    // Pull the image by digest and run it read-only.
    const pull = spawnSync('podman', ['pull', '--tls-verify=false', result.image], { env, encoding: 'utf8' });
    // The layers are the local image's: only the pulled name goes.
    t.teardown(() => void spawnSync('podman', ['rmi', '--force', result.image], { env }));
    t.is(pull.status, 0, pull.stderr);
    const forged = `127.0.0.1:${port}/acme/flowergate@sha256:${'0'.repeat(64)}`;
    t.not(
      spawnSync('podman', ['pull', '--tls-verify=false', forged], { env }).status,
      0,
      'an unknown digest',
    );

    const data = join(work, 'data');
    mkdirSync(data);
    const sessions = createDemoDatabase(
      join(data, 'db.sqlite3'),
      SECRET,
      [{ username: 'root', isSuperuser: true, isStaff: true }],
      1000,
    );
    chmodSync(data, 0o755);
    chmodSync(join(data, 'db.sqlite3'), 0o644);
    const [appPort, adminPort] = [await freePort(), await freePort()];
    const name = `flowergate-release-test-${process.pid}`;
    t.teardown(() => void spawnSync('podman', ['rm', '--force', name], { env }));
    const runResult = spawnSync(
      'podman',
      [
        'run',
        '--detach',
        '--name',
        name,
        '--network=host',
        '--read-only',
        '--cap-drop=ALL',
        '--security-opt',
        'no-new-privileges',
        '--volume',
        `${data}:/data:ro`,
        '--env',
        `FLOWERGATE_DJANGO_SECRET_KEY=${SECRET}`,
        '--env',
        'FLOWERGATE_DJANGO_DATABASE_URL=sqlite:////data/db.sqlite3',
        '--env',
        `FLOWERGATE_LISTEN=127.0.0.1:${appPort}`,
        '--env',
        `FLOWERGATE_ADMIN_LISTEN=127.0.0.1:${adminPort}`,
        result.image,
      ],
      { env, encoding: 'utf8' },
    );
    t.is(runResult.status, 0, runResult.stderr);
    const ask = (sessionKey?: string) => askForward(`http://127.0.0.1:${appPort}`, sessionKey);
    let status = 0;
    for (let i = 0; i < 60 && status === 0; i++) {
      status = await ask();
      if (status === 0) await new Promise((r) => setTimeout(r, 500));
    }
    if (status !== 401) t.log(spawnSync('podman', ['logs', name], { env, encoding: 'utf8' }).stderr);
    t.is(status, 401, 'no session: 401 from the released image');
    t.is(await ask(sessions.get('root')), 200, "the superuser's session: 200");
  },
);
