// Summarizes a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --cpu-prof DIR`): the functions
// with the most self time, and the functions with the most total (inclusive) time, as shares of the
// busy (non-idle) time.
//
//   node bench/profile.ts DIR/flowergate-warm.cpuprofile [--top 25] [--filter src/]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, filter: { type: 'string' } },
  allowPositionals: true,
});
const file = positionals[0];
if (!file) throw new Error('usage: node bench/profile.ts FILE.cpuprofile [--top N] [--filter TEXT]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<number, number>();
profile.samples.forEach((id, i) => {
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

const cwd = process.cwd();
const label = (f: CallFrame) => {
  const where = f.url.startsWith('file://') ? relative(cwd, new URL(f.url).pathname) : f.url || '(native)';
  return `${f.functionName || '(anonymous)'} ${where}${f.url ? `:${f.lineNumber + 1}` : ''}`;
};

let busy = 0;
const selfBy = new Map<string, number>();
const totalBy = new Map<string, number>();
for (const [id, time] of self) {
  const node = byId.get(id)!;
  const name = node.callFrame.functionName;
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
    if (name !== '(idle)') selfBy.set(name, (selfBy.get(name) ?? 0) + time);
    if (name !== '(idle)') busy += time;
    continue;
  }
  busy += time;
  const key = label(node.callFrame);
  selfBy.set(key, (selfBy.get(key) ?? 0) + time);
  // inclusive: count each distinct function once per stack
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur)!.callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    totalBy.set(k, (totalBy.get(k) ?? 0) + time);
  }
}

const show = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  const rows = [...map]
    .filter(([k]) => !values.filter || k.includes(values.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, t] of rows)
    process.stdout.write(
      `${((100 * t) / busy).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}\n`,
    );
};
process.stdout.write(`${file}: busy ${(busy / 1000).toFixed(0)} ms\n`);
show('self time', selfBy);
// self time by owner: a package under node_modules, a directory under src/, node's internals, native code
const groupBy = new Map<string, number>();
for (const [k, t] of selfBy) {
  const where = k.split(' ')[1] ?? '';
  const owner =
    /node_modules\/((@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
    /^(src\/[^/]+|bench|test)/.exec(where)?.[1] ??
    (where.startsWith('node:')
      ? `node:${where.slice(5).split(/[/:]/)[where.startsWith('node:internal') ? 1 : 0]}`
      : k);
  groupBy.set(owner, (groupBy.get(owner) ?? 0) + t);
}
show('self time by owner', groupBy);
show('total time', totalBy);
