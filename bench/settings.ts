// The bench's command line (see `npm run bench -- --help`, which prints run.ts's opening comment).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { parseQuantity } from './cgroup.ts';

export const REPO = resolve(new URL('..', import.meta.url).pathname);
export const ROWS = [
  'ceiling',
  'warm',
  'cold-sqlite',
  'cold-postgres',
  'denial',
  'nginx',
  'sidecar',
] as const;
export type RowId = (typeof ROWS)[number];

export const { values: args } = parseArgs({
  options: {
    write: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    repeats: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    sessions: { type: 'string' },
    generator: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'compare-src': { type: 'string' },
    'compare-env': { type: 'string', multiple: true },
    'fg-env': { type: 'string', multiple: true },
    'fg-node-flags': { type: 'string' },
    'memory-limit': { type: 'string' },
    'limit-node-options': { type: 'string' },
    soak: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (args.help) {
  const text = (await import('node:fs')).readFileSync(new URL('./run.ts', import.meta.url), 'utf8');
  process.stdout.write(`${text.split('\n\n')[0]!.replaceAll(/^\/\/ ?/gm, '')}\n`);
  process.exit(0);
}

export const settings = {
  seconds: Number(args.seconds ?? (args.quick ? 2 : 5)),
  warmup: Number(args.warmup ?? 1),
  repeats: Number(args.repeats ?? (args.quick ? 1 : 3)),
  connections: (args.connections ?? '16,64').split(',').map(Number),
  sessions: Number(args.sessions ?? 5000),
  only: new Set<RowId>(
    (args.only ?? ROWS.join(',')).split(',').map((r) => {
      if (!(ROWS as readonly string[]).includes(r)) throw new Error(`--only: unknown row ${r}`);
      return r as RowId;
    }),
  ),
  cpuProf: args['cpu-prof'] ? resolve(args['cpu-prof']) : null,
  compare:
    args['compare-src'] || args['compare-env']
      ? {
          root: args['compare-src'] ? resolve(args['compare-src']) : REPO,
          env: pairs(args['compare-env'], '--compare-env'),
          label: [args['compare-src'], ...(args['compare-env'] ?? [])].filter(Boolean).join(' '),
        }
      : null,
  fgEnv: pairs(args['fg-env'], '--fg-env'),
  fgNodeFlags: (args['fg-node-flags'] ?? '').split(/\s+/).filter(Boolean),
  /** Every flowergate row runs again inside a memory cgroup of the chart's default limit (null: off). */
  memoryLimit:
    args['memory-limit'] === 'off' ? null : parseQuantity(args['memory-limit'] ?? chartMemoryLimit()),
  /** The image's NODE_OPTIONS, for the memory-limited rows (the image sets them; a bare `node` does not). */
  imageNodeOptions: imageNodeOptions(),
  /** The node flags of the image's ENTRYPOINT (V8 flags that NODE_OPTIONS may not carry), for the same rows. */
  imageNodeFlags: imageNodeFlags(),
  /** Rows 2–4 also run inside the chart's limit with these NODE_OPTIONS instead of the image's (A/B). */
  limitNodeOptions: args['limit-node-options'] ?? null,
  soakMinutes: args.soak === undefined ? null : Number(args.soak),
};

/** How a memory-limited line names its limit: as the image runs (the header gives its flags), or an A/B's NODE_OPTIONS. */
export function limitedLabel(limitBytes: number, nodeOptions?: string): string {
  const how = nodeOptions === undefined ? 'as the image runs it' : `NODE_OPTIONS=${nodeOptions}`;
  return `in a ${limitBytes / 2 ** 20} MiB memory cgroup, ${how} (peak: the cgroup's)`;
}

/** The chart's default `resources.limits.memory` for flowergate (helm/flowergate/values.yaml). */
function chartMemoryLimit(): string {
  const values = parse(readFileSync(join(REPO, 'helm/flowergate/values.yaml'), 'utf8')) as {
    resources?: { limits?: { memory?: string } };
  };
  const limit = values.resources?.limits?.memory;
  if (!limit)
    throw new Error('helm/flowergate/values.yaml has no resources.limits.memory; pass --memory-limit');
  return limit;
}

/** `ENV NODE_OPTIONS=…` from the Dockerfile. */
function imageNodeOptions(): string {
  const line = /^ENV NODE_OPTIONS=(.*)$/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'))?.[1];
  return (line ?? '').replace(/^"(.*)"$/, '$1');
}
/** The flags between `node` and the script in the Dockerfile's `ENTRYPOINT ["node", …, "/app/bin/flowergate.js"]`. */
function imageNodeFlags(): string[] {
  const line = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8'))?.[1];
  const argv = line ? (JSON.parse(line) as string[]) : [];
  return argv.slice(1).filter((arg) => arg.startsWith('--'));
}
function pairs(list: string[] | undefined, option: string): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`${option} wants KEY=VALUE, got ${pair}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}
export const log = (text: string) => process.stderr.write(`${text}\n`);
