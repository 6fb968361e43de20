// `npm run demo`: a SQLite database with Django's schema, a superuser and a staff user with real
// Django-format password hashes and freshly signed sessions, flowergate serving it, and two curl
// commands to try. Needs nothing but Node.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDemoDatabase } from './demo-database.ts';

const dir = resolve(process.env['FLOWERGATE_DEMO_DIR'] ?? '.demo');
const listen = process.env['FLOWERGATE_DEMO_LISTEN'] ?? '127.0.0.1:4180';
const adminListen = process.env['FLOWERGATE_DEMO_ADMIN_LISTEN'] ?? '127.0.0.1:9464';

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const secretFile = `${dir}/secret_key`;
const secret = randomBytes(40).toString('base64url');
writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
const dbPath = `${dir}/db.sqlite3`;
const keys = createDemoDatabase(dbPath, secret, [
  { username: 'admin', isSuperuser: true, isStaff: true },
  { username: 'viewer', isSuperuser: false, isStaff: true },
]);

const env = {
  FLOWERGATE_DJANGO_SECRET_KEY_FILE: secretFile,
  FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${dbPath}`,
  FLOWERGATE_LISTEN: listen,
  FLOWERGATE_ADMIN_LISTEN: adminListen,
  // As Django's ALLOWED_HOSTS: the demo's Flower host, so another Host is refused before any lookup.
  FLOWERGATE_ALLOWED_HOSTS: 'flower.example.com',
};
const curl = (who: string) =>
  `curl -i -H 'X-Forwarded-Method: GET' -H 'X-Forwarded-Host: flower.example.com' -H 'X-Forwarded-Uri: /dashboard' ` +
  `-H 'Cookie: sessionid=${keys.get(who)}' http://${listen}/_flowergate/auth/forward`;
const envLine = Object.entries(env)
  .filter(([name]) => !name.includes('LISTEN') && !name.includes('ALLOWED_HOSTS'))
  .map(([name, value]) => `${name}=${value}`)
  .join(' ');

process.stdout.write(`flowergate demo: Django database ${dbPath}, users "admin" (superuser) and "viewer" (staff)

  allowed (200, the superuser):
    ${curl('admin')}

  denied (403, staff but not a superuser):
    ${curl('viewer')}

  explain a cookie without the server:
    ${envLine} npx flowergate check --cookie-header 'sessionid=${keys.get('viewer')}'

  metrics and health: curl http://${adminListen}/metrics ; curl http://${adminListen}/readyz
  Ctrl-C stops the demo.

`);

// The demo's own settings are not flowergate's: unknown FLOWERGATE_* variables are an error there.
const inherited = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('FLOWERGATE_DEMO_')),
);
const child = spawn(process.execPath, [resolve(import.meta.dirname, '../cli.ts'), 'serve'], {
  env: { ...inherited, ...env },
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
