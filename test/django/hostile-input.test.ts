import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import test from 'ava';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/load.ts';
import { base62Encode } from '../../src/django/base62.ts';
import { base64UrlEncode, deriveKey, hmac } from '../../src/django/crypto.ts';
import type { DjangoDatabase } from '../../src/django/database/store.ts';
import { createSessionResolver } from '../../src/django/resolve-session.ts';
import { SESSION_KEY_MAX_LENGTH } from '../../src/django/sessions/db-session.ts';
import { signObject } from '../../src/django/signing.ts';

const SECRET = 'hostile-input-test-secret-not-used-anywhere-else';
const NOW = Date.UTC(2026, 10, 22) * 1000;

// A database that returns whatever session_data the property generates, and a real user.
const databaseReturning = (data: () => string): DjangoDatabase => ({
  kind: 'sqlite',
  findSession: async () => ({ data: data(), live: true }),
  findUser: async () => ({
    id: '1',
    password: 'x',
    username: 'u',
    email: '',
    isActive: true,
    isSuperuser: true,
    isStaff: true,
  }),
  groupNames: async () => [],
  hasPermission: async () => false,
  ping: async () => {},
  close: async () => {},
});

const resolverFor = (engine: string, data: () => string = () => '') =>
  createSessionResolver(
    loadConfig({ env: { FLOWERGATE_DJANGO_SECRET_KEY: SECRET, FLOWERGATE_DJANGO_SESSION_ENGINE: engine } })
      .django,
    databaseReturning(data),
  );

/** A value signed exactly like Django's signing.dumps, but around an arbitrary payload string. */
const signRaw = (payload: string, salt: string) => {
  const value = `${payload}:${base62Encode(NOW / 1_000_000)}`;
  return `${value}:${base64UrlEncode(hmac(deriveKey(`${salt}signer`, SECRET, 'sha256'), value, 'sha256'))}`;
};

test('no cookie, of any size or bytes, makes the signed_cookies decoder throw or allow', async (t) => {
  const resolver = resolverFor('signed_cookies');
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.string({ maxLength: 10_000 }), fc.string({ unit: 'binary', maxLength: 5000 })),
      async (cookie) => {
        const verdict = await resolver.resolve(resolver.sessionCookie(`sessionid=${cookie}`), NOW);
        return verdict.kind === 'anonymous';
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random cookies, all anonymous, none threw');
});

test('validly signed but malformed payloads are denied, never thrown', async (t) => {
  const salt = 'django.contrib.sessions.backends.signed_cookies';
  const resolver = resolverFor('signed_cookies');
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string(),
        fc.base64String(),
        fc.string().map((s) => `.${s}`),
      ),
      async (payload) => {
        const verdict = await resolver.resolve(signRaw(payload, salt), NOW);
        return verdict.kind === 'anonymous' || verdict.kind === 'user';
      },
    ),
    { numRuns: 300 },
  );
  const check = async (payload: string) => resolver.resolve(signRaw(payload, salt), NOW);
  t.like(await check('!!!'), { kind: 'anonymous', reason: 'bad_payload' });
  t.like(await check(`.${base64UrlEncode(Buffer.from('not zlib'))}`), {
    kind: 'anonymous',
    reason: 'bad_payload',
  });
  t.like(await check(base64UrlEncode(Buffer.from('[1,2]'))), { kind: 'anonymous', reason: 'bad_payload' });
  t.like(await check(base64UrlEncode(Buffer.from('{"a":NaN}'))), {
    kind: 'anonymous',
    reason: 'not_logged_in',
  });
});

test('a compressed payload that inflates without limit costs one bounded inflate', async (t) => {
  const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MiB of spaces, ~64 KiB compressed
  const resolver = resolverFor('db', () =>
    signRaw(`.${base64UrlEncode(bomb)}`, 'django.contrib.sessions.SessionStore'),
  );
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const verdict = await resolver.resolve('k'.repeat(32), NOW);
  t.like(verdict, { kind: 'anonymous', reason: 'bad_payload' });
  t.log(
    `zip bomb refused in ${(performance.now() - started).toFixed(1)} ms, RSS +${((process.memoryUsage().rss - before) / 1e6).toFixed(1)} MB`,
  );
  t.true(process.memoryUsage().rss - before < 48 * 1024 * 1024);
});

test('absurd timestamps are refused, not computed', async (t) => {
  const salt = 'django.contrib.sessions.backends.signed_cookies';
  const payload = base64UrlEncode(Buffer.from('{}'));
  const value = `${payload}:${'z'.repeat(5000)}`;
  const cookie = `${value}:${base64UrlEncode(hmac(deriveKey(`${salt}signer`, SECRET, 'sha256'), value, 'sha256'))}`;
  const resolver = resolverFor('signed_cookies');
  t.like(await resolver.resolve(cookie, NOW), { kind: 'anonymous' });
});

test('a freshly signed session round-trips to the user', async (t) => {
  const session = JSON.stringify({
    _auth_user_id: '1',
    _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
    _auth_user_hash: 'x',
  });
  const cookie = signObject(session, {
    salt: 'django.contrib.sessions.backends.signed_cookies',
    secret: SECRET,
    timestamp: NOW / 1_000_000,
    compress: true,
  });
  const verdict = await resolverFor('signed_cookies').resolve(cookie, NOW);
  // The hash is wrong on purpose: decoding works, get_user's hash check refuses.
  t.like(verdict, { kind: 'anonymous', reason: 'hash_mismatch' });
});

test("a session key longer than Django's 40-character column is no session, and costs no query", async (t) => {
  const asked: string[] = [];
  const database: DjangoDatabase = {
    ...databaseReturning(() => ''),
    findSession: async (key) => {
      asked.push(key);
      return null;
    },
  };
  for (const engine of ['db', 'cached_db']) {
    const resolver = createSessionResolver(
      loadConfig({ env: { FLOWERGATE_DJANGO_SECRET_KEY: SECRET, FLOWERGATE_DJANGO_SESSION_ENGINE: engine } })
        .django,
      database,
    );
    asked.length = 0;
    t.like(await resolver.resolve('k'.repeat(41), NOW), { kind: 'anonymous', reason: 'no_session' });
    t.deepEqual(asked, [], `${engine}: no query for 41 characters`);
    t.like(await resolver.resolve('k'.repeat(40), NOW), { kind: 'anonymous', reason: 'no_session' });
    t.deepEqual(asked, ['k'.repeat(40)], `${engine}: 40 characters are looked up`);
  }
  // The bound is Django's own: its migrations make the column (fixtures/ is dumped from real Django).
  const ddl = readFileSync(new URL('../../fixtures/django-schema.sqlite.sql', import.meta.url), 'utf8');
  t.is(Number(/"session_key" varchar\((\d+)\)/.exec(ddl)?.[1]), SESSION_KEY_MAX_LENGTH);
});
