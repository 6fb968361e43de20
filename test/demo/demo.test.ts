import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { freePort } from '../support/processes.ts';

test('npm run demo serves a Django database and its two curl commands answer 200 and 403', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-demo-'));
  const [port, adminPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['src/demo/demo.ts'], {
    env: {
      ...process.env,
      FLOWERGATE_DEMO_DIR: dir,
      FLOWERGATE_DEMO_LISTEN: `127.0.0.1:${port}`,
      FLOWERGATE_DEMO_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  // Ready once the server logs that it listens.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 30_000);
    child.stdout.on('data', () => {
      if (output.includes('flowergate listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });

  const curls = [...output.matchAll(/curl -i (.+)/g)].map((m) => m[1]!);
  t.is(curls.length, 2);
  const run = (args: string) => {
    const headers = Object.fromEntries(
      [...args.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [m[1]!, m[2]!]),
    );
    const url = /(http:\/\/\S+)/.exec(args)![1]!;
    return fetch(url, { headers });
  };
  const allowed = await run(curls[0]!);
  t.is(allowed.status, 200);
  t.is(allowed.headers.get('x-auth-request-user'), 'admin');
  const denied = await run(curls[1]!);
  t.is(denied.status, 403);
  t.like(await denied.json(), { reason: 'not_superuser' });
  // The demo sets FLOWERGATE_ALLOWED_HOSTS: the allowed request for another host is refused unlooked-at.
  const otherHost = await fetch(/(http:\/\/\S+)/.exec(curls[0]!)![1]!, {
    headers: Object.fromEntries(
      [...curls[0]!.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [
        m[1]!,
        m[1] === 'X-Forwarded-Host' ? 'evil.example' : m[2]!,
      ]),
    ),
  });
  t.is(otherHost.status, 400);
  t.like(await otherHost.json(), { reason: 'disallowed_host' });

  // The printed `flowergate check` line works as printed.
  const checkLine = /(FLOWERGATE_\S+ FLOWERGATE_\S+) npx flowergate check --cookie-header '([^']+)'/.exec(
    output,
  )!;
  const env = Object.fromEntries(
    checkLine[1]!.split(' ').map((pair) => pair.split('=', 2) as [string, string]),
  );
  const check = spawnSync(
    process.execPath,
    ['bin/flowergate.js', 'check', '--cookie-header', checkLine[2]!],
    {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    },
  );
  t.is(check.status, 1, check.stderr);
  t.like(JSON.parse(check.stdout), {
    authenticated: true,
    username: 'viewer',
    allowed: false,
    reason: 'not_superuser',
  });

  const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
  t.is(ready.status, 200);
});
