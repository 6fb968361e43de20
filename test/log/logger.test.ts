import test from 'ava';
import { loadConfig } from '../../src/config/load.ts';
import { configSecrets, summarizeConfig } from '../../src/log/config-summary.ts';
import { createLogger } from '../../src/log/logger.ts';
import { scrub } from '../../src/log/scrub.ts';
import { captureLines } from './capture.ts';

const SECRET_KEY = 'django-insecure-k3y!+w0rth-k33ping-s3cr3t-0123456789abcdef';
const FALLBACK_KEY = 'old-secret-key-rotated-out-last-month-9876543210';
const DB_PASSWORD = 'Pg-pa55w0rd-for-flower';
const SESSION_KEY = 'q8z0c4l1bq9w3f2r7u5y6t1n0m8k2j4h';
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bW9uOnByb20ifQ.c2lnbmF0dXJl';
const SIGNED_COOKIE =
  '.eJxVjMsKwjAQRf8lawmZpEnTLt37DSGZmdr4SKRpRRD_3RZciMt7z-G8BAslrDhAkEmZnmcxhHJdGyTfwHRBOOE.e1xlm3:1r2X9z:Abc';

const ALL_SECRETS = [SECRET_KEY, FALLBACK_KEY, DB_PASSWORD, SESSION_KEY, JWT, SIGNED_COOKIE];

function assertClean(t: { false(v: boolean, m?: string): void }, output: string): void {
  for (const secret of ALL_SECRETS)
    t.false(output.includes(secret), `leaked ${secret.slice(0, 12)}… in ${output}`);
  // No fragment of a secret either, e.g. the JWT's payload after a partial mask.
  for (const secret of ALL_SECRETS)
    t.false(output.includes(secret.slice(-16)), `leaked the tail of ${secret.slice(0, 12)}…`);
}

function setup(options: { secrets?: string[]; redactKeys?: string[] } = {}) {
  const out = captureLines();
  const logger = createLogger({ level: 'trace', destination: out, ...options });
  return { out, logger, text: () => out.lines.join('') };
}

test('request headers in log objects lose cookies, authorization and tokens, at any depth', (t) => {
  const { logger, out, text } = setup();
  logger.info(
    {
      req: {
        method: 'GET',
        headers: {
          cookie: `sessionid=${SESSION_KEY}; csrftoken=abc123abc123`,
          authorization: `Bearer ${JWT}`,
          'proxy-authorization': 'Basic Zmxvd2VyOmh1bnRlcjI=',
          'x-auth-request-user': 'alice',
          'x-csrftoken': 'abc123abc123',
        },
      },
      res: { headers: { 'set-cookie': [`sessionid=${SIGNED_COOKIE}; HttpOnly`] } },
      nested: { deeper: [{ accessToken: JWT, apiKey: 'k-1234567890' }] },
    },
    'request',
  );
  assertClean(t, text());
  t.false(text().includes('abc123abc123'));
  t.false(text().includes('Zmxvd2VyOmh1bnRlcjI='));
  const [record] = out.records() as [{ req: { method: string; headers: Record<string, string> } }];
  t.is(record.req.method, 'GET');
  t.is(record.req.headers['x-auth-request-user'], 'alice', 'identity headers are not secrets');
  t.is(record.req.headers.cookie, '[Redacted]');
});

test('error messages, stacks and causes are scrubbed', (t) => {
  const { logger, text } = setup();
  const cause = new Error(`token rejected: Authorization: Bearer ${JWT}`);
  const error = new Error(`connect to postgres://flower:${DB_PASSWORD}@db:5432/app failed`, { cause });
  logger.error(error);
  logger.error({ err: error }, 'store unavailable');
  logger.warn(new Error(`bad cookie sessionid=${SESSION_KEY}`), 'decision failed');
  assertClean(t, text());
  t.true(text().includes('postgres://flower:***@db:5432/app'));
  t.true(text().includes('"msg":"connect to postgres://flower:***@db:5432/app failed"'));
});

test('messages and format arguments are scrubbed', (t) => {
  const { logger, text } = setup({ secrets: [SECRET_KEY] });
  logger.info(`cookie header was sessionid=${SESSION_KEY}`);
  logger.info('token %s and key %s', `Bearer ${JWT}`, SECRET_KEY);
  logger.info(`dsn mysql://root:${DB_PASSWORD}@mysql/app?charset=utf8`);
  assertClean(t, text());
});

test('literal secrets are masked wherever they appear, whatever the shape', (t) => {
  const { logger, text } = setup({ secrets: [SECRET_KEY, FALLBACK_KEY, DB_PASSWORD] });
  logger.info({ note: `the key is ${SECRET_KEY}.`, list: [FALLBACK_KEY], pw: `${DB_PASSWORD}` }, DB_PASSWORD);
  assertClean(t, text());
});

test('a renamed session cookie is redacted by name', (t) => {
  const { logger, text } = setup({ redactKeys: ['flower_sess'] });
  logger.info(
    { cookies: { flower_sess: SESSION_KEY }, flower_sess: SESSION_KEY },
    `flower_sess=${SESSION_KEY}`,
  );
  assertClean(t, text());
});

test('child logger bindings are redacted too', (t) => {
  const { logger, text } = setup();
  logger.child({ headers: { authorization: `Bearer ${JWT}` } }).info('hello');
  logger
    .child({ component: 'proxy' })
    .child({ cookie: `sessionid=${SESSION_KEY}` })
    .info('grandchild');
  assertClean(t, text());
});

test('the start-up configuration summary says what was loaded and holds no secret', (t) => {
  const config = loadConfig({
    env: {
      FLOWERGATE_DJANGO_SECRET_KEY: SECRET_KEY,
      FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS: `${FALLBACK_KEY},another-old-key-0000000000`,
      FLOWERGATE_DJANGO_DATABASE_URL: `postgres://flower:${encodeURIComponent(DB_PASSWORD)}@db.internal:5432/app?sslmode=require`,
      FLOWERGATE_UPSTREAM: 'http://admin:upstream-pass-123@flower:5555',
      FLOWERGATE_PROXY_URL_PREFIX: 'flower/',
      FLOWERGATE_ALLOWED_HOSTS: 'flower.example.com',
    },
  });
  const summary = summarizeConfig(config);
  const raw = JSON.stringify(summary);
  assertClean(t, raw);
  t.false(raw.includes('upstream-pass-123'));
  t.like(summary, {
    mode: 'proxy',
    upstream: 'http://admin:***@flower:5555',
    urlPrefix: '/flower', // the alias, as the gate uses it
    allowedHosts: ['flower.example.com'],
    django: {
      secretKey: `*** (${SECRET_KEY.length} characters)`,
      secretKeyFallbacks: 2,
      database: 'postgres://flower:***@db.internal:5432/app',
      sessionEngine: 'db',
      sessionCookieName: 'sessionid',
    },
  });

  // Logged through a logger that also knows the literal secrets, the summary keeps its shape.
  const { logger, out, text } = setup({ secrets: configSecrets(config) });
  logger.info({ config: summary }, 'flowergate starting');
  assertClean(t, text());
  const [record] = out.records() as [{ config: typeof summary }];
  t.deepEqual(record.config, JSON.parse(raw));
});

test('the level option drops quieter lines', (t) => {
  const out = captureLines();
  const logger = createLogger({ level: 'warn', destination: out });
  logger.info('quiet');
  logger.warn('loud');
  t.deepEqual(
    out.records().map((r) => [r.level, r.msg]),
    [['warn', 'loud']],
  );
});

test('scrub masks cookie values, bearer tokens, URL credentials and JWTs in free text', (t) => {
  t.is(scrub(`Cookie: sessionid=${SESSION_KEY}; theme=dark`), 'Cookie: ***');
  t.is(scrub(`sessionid=${SESSION_KEY}; theme=dark`), 'sessionid=***; theme=dark');
  t.is(scrub(`?csrftoken=abc&page=2`), '?csrftoken=***&page=2');
  t.is(scrub(`sent Bearer ${JWT}`), 'sent Bearer ***');
  t.is(scrub(`redis://:${DB_PASSWORD}@cache:6379/0`), 'redis://:***@cache:6379/0');
  t.is(scrub(`https://user:${DB_PASSWORD}@host/x`), 'https://user:***@host/x');
  t.is(scrub(`token was ${JWT}!`), 'token was ***!');
  t.is(scrub('nothing to see on /flower/tasks'), 'nothing to see on /flower/tasks');
});

test('a cycle is logged as [Circular], while the same object twice side by side is logged twice', (t) => {
  const out = captureLines();
  const logger = createLogger({ level: 'info', destination: out });
  const shared = { cookie: 'sessionid=abc', name: 'shared' };
  const cyclic: Record<string, unknown> = { name: 'loop', nested: { deeper: {} } };
  (cyclic['nested'] as { deeper: Record<string, unknown> }).deeper['back'] = cyclic;
  logger.info({ cyclic, left: shared, right: shared, list: [shared, shared] }, 'shapes');
  const [line] = out.records() as [Record<string, unknown>];
  t.deepEqual(line['cyclic'], { name: 'loop', nested: { deeper: { back: '[Circular]' } } });
  t.deepEqual(line['left'], { cookie: '[Redacted]', name: 'shared' });
  t.deepEqual(line['right'], { cookie: '[Redacted]', name: 'shared' });
  t.deepEqual(line['list'], [
    { cookie: '[Redacted]', name: 'shared' },
    { cookie: '[Redacted]', name: 'shared' },
  ]);
});
