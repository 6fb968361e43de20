import { existsSync } from 'node:fs';
import net from 'node:net';
import test from 'ava';
import {
  freePort,
  MissingToolError,
  makeTempDir,
  removeDir,
  requireBinary,
  startProcess,
  which,
} from '../support/processes.ts';
import { requireTool } from '../support/require-tool.ts';

const NODE = process.execPath;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('freePort gives a loopback port nobody listens on', async (t) => {
  const port = await freePort();
  t.true(port > 0 && port < 65536);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  // Binding it succeeded, so the port really was free.
  t.true(server.listening);
  server.close();
});

test('which finds binaries in PATH and sbin; requireBinary names the Debian package', (t) => {
  t.regex(which('sh') ?? '', /^\/.*\/sh$/);
  t.regex(which('nginx') ?? '/usr/sbin/nginx', /sbin\/nginx$/, 'found in sbin even when PATH lacks it');
  t.is(which('definitely-not-a-binary-xyz'), undefined);
  const err = t.throws(() => requireBinary('definitely-not-a-binary-xyz', 'xyz-tools'), {
    instanceOf: MissingToolError,
  });
  t.regex(err?.message ?? '', /install with: apt-get install -y xyz-tools/);
});

test('startProcess waits for a stdout line and for a port, and stop() ends it', async (t) => {
  const port = await freePort();
  const script = `
    const s = require('node:net').createServer(() => {});
    setTimeout(() => s.listen(${port}, '127.0.0.1', () => console.log('listening on ' + ${port})), 200);`;
  const p = await startProcess(NODE, ['-e', script], {
    readyLine: /^listening on (\d+)$/,
    readyPort: port,
    t,
  });
  t.is(p.readyMatch?.[1], String(port));
  await p.stop();
  t.deepEqual(p.exitStatus(), { code: null, signal: 'SIGTERM' });
  t.false(alive(p.pid));
});

test('startProcess quotes the stderr tail when the process dies before it is ready', async (t) => {
  const err = await t.throwsAsync(
    startProcess(NODE, ['-e', 'console.error("boom: config is wrong"); process.exit(3)'], {
      name: 'boomer',
      readyPort: await freePort(),
    }),
  );
  t.regex(err?.message ?? '', /^boomer .* exited \(code 3, signal null\) before it was ready/);
  t.regex(err?.message ?? '', /--- stderr tail ---\nboom: config is wrong/);
});

test('startProcess times out with the stderr tail and kills the process', async (t) => {
  const err = await t.throwsAsync(
    startProcess(NODE, ['-e', 'console.error("still starting"); setInterval(() => {}, 1000)'], {
      readyLine: /never/,
      timeoutMs: 500,
    }),
  );
  t.regex(err?.message ?? '', /was not ready within 500 ms \(waiting for a line matching \/never\/\)/);
  t.regex(err?.message ?? '', /still starting/);
});

test('stop() kills the whole process group, and SIGKILLs what ignores SIGTERM', async (t) => {
  const script = `
    process.on('SIGTERM', () => {});
    const c = require('node:child_process').spawn('sleep', ['300'], { stdio: 'ignore' });
    console.log('child ' + c.pid);
    setInterval(() => {}, 1000);`;
  const p = await startProcess(NODE, ['-e', script], { readyLine: /^child (\d+)$/, graceMs: 300 });
  const grandchild = Number(p.readyMatch?.[1]);
  t.true(alive(grandchild));
  const started = Date.now();
  await p.stop();
  t.true(Date.now() - started >= 300);
  t.is(p.exitStatus()?.signal, 'SIGKILL');
  // killed at once, but reaped (by init: its parent is gone too) when init gets to it, later on a busy machine
  for (let i = 0; i < 100 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 50));
  t.false(alive(grandchild), 'the grandchild went with the group');
});

test('if the test process is SIGKILLed, the orphan guard kills the group and removes the temp dir', async (t) => {
  const dir = makeTempDir('orphan');
  const processesUrl = new URL('../support/processes.ts', import.meta.url).href;
  const script = `
    import { startProcess } from ${JSON.stringify(processesUrl)};
    const p = await startProcess('sleep', ['300'], { removeOnOrphan: [${JSON.stringify(dir)}] });
    console.log('pid ' + p.pid);
    process.kill(process.pid, 'SIGKILL');`;
  const parent = await startProcess(NODE, ['--input-type=module', '-e', script], {
    readyLine: /^pid (\d+)$/,
  });
  const sleeper = Number(parent.readyMatch?.[1]);
  await parent.exited;
  for (let i = 0; i < 50 && (alive(sleeper) || existsSync(dir)); i++)
    await new Promise((r) => setTimeout(r, 50));
  t.false(alive(sleeper));
  t.false(existsSync(dir));
  await parent.stop();
});

test('makeTempDir and removeDir', (t) => {
  const dir = makeTempDir('selftest');
  t.true(existsSync(dir));
  removeDir(dir);
  t.false(existsSync(dir));
});

test('requireTool reports a missing tool with its install hint', async (t) => {
  const status = await requireTool('xyz', () => requireBinary('definitely-not-a-binary-xyz', 'xyz-tools'), {
    silent: true,
  });
  t.false(status.available);
  t.regex(status.why ?? '', /apt-get install -y xyz-tools/);
  t.deepEqual(await requireTool('sh', () => requireBinary('sh', 'dash')), { name: 'sh', available: true });
});
