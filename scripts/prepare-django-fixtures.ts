// Generates the real-Django golden cases the conformance suite compares against: every Django series
// (3.2 from Debian's python3-django; 4.2 and 5.2 unpacked from newer Debian suites) on SQLite,
// PostgreSQL and MariaDB. Missing Django or databases skip loudly, or fail under CI=true.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';

const OUT = '.cache/fixtures';
const SERIES = (process.env['FLOWERGATE_DJANGO_SERIES'] ?? '3.2,4.2,5.2').split(',');
const DATABASES: [name: string, port: number | null][] = [
  ['sqlite', null],
  ['postgres', 5432],
  ['mysql', 3306],
];
const CI = process.env['CI'] === 'true';

const skip = (why: string, fix: string) => {
  const message = `SKIPPED real-Django fixtures for ${why} — ${fix}`;
  if (CI) {
    process.stderr.write(`FAILED (CI=true): ${message}\n`);
    process.exit(1);
  }
  process.stderr.write(`\n${message}\n\n`);
};

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

const django = spawnSync('/usr/bin/python3', ['-c', 'import django'], { stdio: 'ignore' });
if (django.status !== 0) {
  skip(
    'every Django version',
    "install Debian's python3-django (sudo bash scripts/install-system-packages.sh)",
  );
  process.exit(0);
}

rmSync(OUT, { recursive: true, force: true });
const jobs: (() => Promise<void>)[] = [];
for (const [database, port] of DATABASES) {
  if (port !== null && !(await reachable(port))) {
    skip(`${database}`, `start it on 127.0.0.1:${port} (bash scripts/start-services.sh)`);
    continue;
  }
  for (const series of SERIES) {
    jobs.push(
      () =>
        new Promise((resolve, reject) => {
          const out = `${OUT}/${series}-${database}`;
          mkdirSync(out, { recursive: true });
          const started = performance.now();
          const child = spawn('bash', ['scripts/django/generate.sh', series, database, out], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let log = '';
          child.stdout.on('data', (chunk: Buffer) => (log += chunk));
          child.stderr.on('data', (chunk: Buffer) => (log += chunk));
          child.on('exit', (code) => {
            if (code === 0) {
              process.stdout.write(
                `django ${series} on ${database}: ${((performance.now() - started) / 1000).toFixed(1)}s\n`,
              );
              resolve();
            } else {
              process.stderr.write(log);
              reject(new Error(`the Django ${series} generator failed on ${database} (exit ${code})`));
            }
          });
        }),
    );
  }
}

// Two at a time: the machine has two cores, and each series uses its own databases.
const running = new Set<Promise<void>>();
for (const job of jobs) {
  const promise = job().finally(() => running.delete(promise));
  running.add(promise);
  if (running.size >= 2) await Promise.race(running);
}
await Promise.all(running);
