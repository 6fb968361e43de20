/**
 * `npm run release`: builds the image, writes its SBOM, packages the chart and pushes both to an OCI
 * registry.
 *
 *   RELEASE_REGISTRY=ghcr.io/acme npm run release
 *   RELEASE_REGISTRY=127.0.0.1:5000/acme npm run release     # plain HTTP for 127.0.0.1 / localhost
 *
 * Environment:
 *   RELEASE_REGISTRY  host[:port]/namespace (required). The image goes to <registry>/flowergate:<version>,
 *                     the chart to oci://<registry>/charts/flowergate, version <version>.
 *   RELEASE_IMAGE     an image already built locally to release instead of building one
 *   RELEASE_OUT       where the chart package, SBOM and release.json go (default dist/release)
 *
 * Version and appVersion come from package.json. The image is linux/amd64: podman builds other
 * platforms only with qemu-user-static registered in binfmt_misc, which this project does not assume.
 * Authentication is podman's and Helm's own (`podman login`, `helm registry login`) beforehand.
 *
 * Prints the image digest, the chart reference and the SBOM's path, and writes them to
 * <out>/release.json. The packaged chart's default values name the image by that digest.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTool } from '../k8s/tools.ts';
import { pinImage, registryTarget } from './values.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Release {
  readonly version: string;
  readonly image: string;
  readonly digest: string;
  readonly chart: string;
  readonly chartPackage: string;
  readonly sbom: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr || result.stdout}`,
    );
  }
  return result.stdout;
}

export function release(env: NodeJS.ProcessEnv = process.env): Release {
  const target = registryTarget(env['RELEASE_REGISTRY'] ?? '');
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const out = resolve(env['RELEASE_OUT'] ?? join(ROOT, 'dist/release'));
  mkdirSync(out, { recursive: true });
  // build-image.sh's podman settings for this machine (runc, ulimits), when it has written them.
  const conf = join(ROOT, '.cache/k8s/image/containers.conf');
  const podmanEnv = existsSync(conf) ? { ...env, CONTAINERS_CONF: conf } : env;

  // 1. The image: built here (scripts/k8s/build-image.sh) unless one is given, then pushed by tag.
  let local = env['RELEASE_IMAGE'];
  if (!local) {
    local = `localhost/flowergate:${version}`;
    run('bash', [join(ROOT, 'scripts/k8s/build-image.sh'), local], env);
  }
  const repository = `${target.registry}/flowergate`;
  const scratch = mkdtempSync(join(tmpdir(), 'flowergate-release-'));
  try {
    const digestFile = join(scratch, 'digest');
    run(
      'podman',
      [
        'push',
        `--tls-verify=${!target.plainHttp}`,
        '--digestfile',
        digestFile,
        local,
        `docker://${repository}:${version}`,
      ],
      podmanEnv,
    );
    const digest = readFileSync(digestFile, 'utf8').trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`podman push wrote no digest: "${digest}"`);

    // 2. The SBOM of what the image ships: the production dependency tree.
    const sbom = join(out, `flowergate-${version}.cdx.json`);
    writeFileSync(sbom, run('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev'], env));

    // 3. The chart, its default image pinned to the pushed digest, packaged and pushed.
    const chartDir = join(scratch, 'flowergate');
    cpSync(join(ROOT, 'helm/flowergate'), chartDir, { recursive: true });
    const valuesPath = join(chartDir, 'values.yaml');
    writeFileSync(valuesPath, pinImage(readFileSync(valuesPath, 'utf8'), { repository, digest }));
    const helm = ensureTool('helm4');
    const helmEnv = { ...env, HELM_CONFIG_HOME: env['HELM_CONFIG_HOME'] ?? join(scratch, 'helm-config') };
    run(helm, ['lint', '--strict', chartDir, '--set', 'secrets.existingSecret=release-check'], helmEnv);
    run(helm, ['package', chartDir, '--version', version, '--app-version', version, '-d', out], helmEnv);
    const chartPackage = join(out, `flowergate-${version}.tgz`);
    run(
      helm,
      [
        'push',
        chartPackage,
        `oci://${target.registry}/charts`,
        ...(target.plainHttp ? ['--plain-http'] : []),
      ],
      helmEnv,
    );

    const result: Release = {
      version,
      image: `${repository}@${digest}`,
      digest,
      chart: `oci://${target.registry}/charts/flowergate`,
      chartPackage,
      sbom,
    };
    writeFileSync(join(out, 'release.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const r = release();
    console.log(`image:  ${r.image}`);
    console.log(`digest: ${r.digest}`);
    console.log(`chart:  ${r.chart} --version ${r.version}`);
    console.log(`sbom:   ${r.sbom}`);
    console.log(
      `\ninstall: helm install flowergate ${r.chart} --version ${r.version} -n celery -f values.yaml`,
    );
  } catch (error) {
    console.error(`release: ${(error as Error).message}`);
    process.exit(1);
  }
}
