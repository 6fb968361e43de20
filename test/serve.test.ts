/**
 * `flowergate serve` on IPv6 and dual-stack networks: FLOWERGATE_LISTEN=[::]:PORT (what the Helm
 * chart sets for listen.ipFamily IPv6/dual) serves both listeners on ::1 and, as IPv4-mapped
 * addresses, on 127.0.0.1; an IPv4-only address is not reachable over IPv6.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createDemoDatabase } from '../src/demo/demo-database.ts';
import { askForward as forward } from './support/forward-request.ts';
import { freePort, makeTempDir, removeDir, startProcess } from './support/processes.ts';

const ROOT = join(import.meta.dirname, '..');
const SECRET = 'serve-ipv6-test-secret-not-a-real-one';

async function serveOn(t: ExecutionContext, host: string) {
  const dir = makeTempDir('serve');
  t.teardown(() => removeDir(dir));
  const db = join(dir, 'db.sqlite3');
  const sessions = createDemoDatabase(
    db,
    SECRET,
    [{ username: 'root', isSuperuser: true, isStaff: true }],
    1000,
  );
  const [port, adminPort] = [await freePort('::1'), await freePort('::1')];
  await startProcess(process.execPath, [join(ROOT, 'src/cli.ts'), 'serve'], {
    name: 'flowergate',
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'],
      FLOWERGATE_DJANGO_SECRET_KEY: SECRET,
      FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${db}`,
      FLOWERGATE_LISTEN: `${host}:${port}`,
      FLOWERGATE_ADMIN_LISTEN: `${host}:${adminPort}`,
    },
    readyLine: /flowergate listening on/,
    timeoutMs: 20_000,
    t,
  });
  return { port, adminPort, session: sessions.get('root')! };
}

test('listening on [::] serves both ports over IPv6 (::1) and IPv4 (127.0.0.1)', async (t) => {
  const { port, adminPort, session } = await serveOn(t, '[::]');
  for (const address of ['[::1]', '127.0.0.1']) {
    const base = `http://${address}:${port}`;
    t.is(await forward(base, session), 200, `${address}: the superuser is let in`);
    t.is(await forward(base), 401, `${address}: no session`);
    t.is((await fetch(`http://${address}:${adminPort}/healthz`)).status, 200, `${address}: admin`);
  }
});

test('an IPv4 listen address is not reachable over IPv6', async (t) => {
  const { port, adminPort } = await serveOn(t, '127.0.0.1');
  t.is(await forward(`http://127.0.0.1:${port}`), 401);
  t.is(await forward(`http://[::1]:${port}`), 0, 'main port: nothing listens there');
  await t.throwsAsync(() => fetch(`http://[::1]:${adminPort}/healthz`), undefined, 'admin port');
});
