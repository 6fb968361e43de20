// The bench's memory groups (bench/cgroup.ts) on the real kernel: a process that stays under the limit runs
// to the end and is measured; one that goes over is killed and counted. Needs root and a memory controller
// (cgroup v1 or v2); without them it skips loudly (fails with CI=true), as the bench's limited lines would.
import { spawnSync } from 'node:child_process';
import { rmdirSync } from 'node:fs';
import test from 'ava';
import { createMemoryCgroup, type MemoryCgroup, parseQuantity } from '../../bench/cgroup.ts';
import { toolTest } from '../support/require-tool.ts';

const LIMIT = 96 * 2 ** 20;

const maybe = await toolTest({
  name: 'a memory cgroup',
  check: () => {
    const group = createMemoryCgroup('fg-test-probe', LIMIT);
    if (typeof group === 'string')
      throw new Error(`${group} (run as root on Linux with a memory controller)`);
    group.remove();
  },
});

/** Node allocating (and touching) `mib` MiB inside the group; its exit status and signal. */
function allocate(group: MemoryCgroup, mib: number) {
  const script = `const kept = []; for (let i = 0; i < ${mib}; i++) kept.push(Buffer.alloc(2 ** 20, 1)); console.log('done')`;
  return spawnSync(
    '/bin/sh',
    ['-c', `echo $$ > '${group.procsFile}' && exec "$0" -e "$1"`, process.execPath, script],
    {
      encoding: 'utf8',
    },
  );
}

maybe.serial('a process within the limit finishes, and the group reports its peak and no OOM kill', (t) => {
  const group = createMemoryCgroup('fg-test-within', LIMIT) as MemoryCgroup;
  t.teardown(() => group.remove());
  group.resetPeak();
  const run = allocate(group, 24);
  t.is(run.status, 0, run.stderr);
  t.is(run.stdout.trim(), 'done');
  const peak = group.peakBytes();
  t.true(peak !== null && peak >= 24 * 2 ** 20 && peak <= LIMIT, `peak ${peak} between 24 MiB and the limit`);
  t.is(group.oomKills(), 0);
});

maybe.serial('a process over the limit is killed, and the kill is counted', (t) => {
  const group = createMemoryCgroup('fg-test-over', LIMIT) as MemoryCgroup;
  t.teardown(() => group.remove());
  const run = allocate(group, 256);
  t.is(run.signal, 'SIGKILL');
  t.not(run.stdout.trim(), 'done');
  t.is(group.oomKills(), 1);
});

maybe.serial('the group is removed once its processes are gone', (t) => {
  const group = createMemoryCgroup('fg-test-remove', LIMIT) as MemoryCgroup;
  allocate(group, 1);
  group.remove();
  t.throws(() => rmdirSync(group.path), { code: 'ENOENT' });
});

test('memory quantities are read as Kubernetes writes them', (t) => {
  t.is(parseQuantity('256Mi'), 256 * 2 ** 20);
  t.is(parseQuantity('1Gi'), 2 ** 30);
  t.is(parseQuantity('128M'), 128e6);
  t.is(parseQuantity('1048576'), 2 ** 20);
  t.throws(() => parseQuantity('lots'));
});
