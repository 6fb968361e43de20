import test from 'ava';
import { configEnvironmentVariables, loadConfig } from '../../src/config/load.ts';
import { effectiveUrlPrefix } from '../../src/config/schema.ts';
import type { FlowergateError } from '../../src/errors.ts';

const base = { FLOWERGATE_DJANGO_SECRET_KEY: 'k'.repeat(50) };
const failure = (env: Record<string, string>, files: Record<string, string> = {}, file?: string) => {
  try {
    loadConfig({
      env,
      file,
      readFile: (path) =>
        files[path] ??
        (() => {
          throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        })(),
    });
  } catch (error) {
    return error as FlowergateError;
  }
  throw new Error('expected the configuration to be rejected');
};

test('without a secret key, start-up fails naming FLOWERGATE_DJANGO_SECRET_KEY', (t) => {
  const error = failure({});
  t.is(error.code, 'CONFIG_INVALID');
  t.regex(error.message, /FLOWERGATE_DJANGO_SECRET_KEY/);
});

test('reports every problem at once, each with its path', (t) => {
  const error = failure({
    FLOWERGATE_DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.cache',
    FLOWERGATE_CACHE_ALLOW_TTL: 'soon',
    FLOWERGATE_LISTEN: 'nowhere',
    FLOWERGATE_DJANGO_VERSION: '2.2',
    FLOWERGATE_DJANGO_DATABASE_URL: 'oracle://x/y',
  });
  for (const expected of [
    /secretKey/,
    /sessionEngine.*cached_db/,
    /FLOWERGATE_CACHE_ALLOW_TTL must be a number/,
    /listen/,
    /version/,
    /databaseUrl/,
  ]) {
    t.regex(error.message, expected);
  }
});

test('rejects unknown keys in the file and unknown FLOWERGATE_ variables, suggesting the right name', (t) => {
  const error = failure(
    { ...base, FLOWERGATE_DJANGO_SECRETKEY: 'x' },
    { '/c.yaml': 'django:\n  sessionCookeName: x\n' },
    '/c.yaml',
  );
  t.regex(error.message, /did you mean FLOWERGATE_DJANGO_SECRET_KEY/);
  t.regex(error.message, /django: unknown key "sessionCookeName"/);
});

test('environment overrides the file, and _FILE reads secrets from files', (t) => {
  const config = loadConfig({
    file: '/c.yaml',
    env: {
      FLOWERGATE_DJANGO_SECRET_KEY_FILE: '/run/secret',
      FLOWERGATE_DJANGO_SESSION_COOKIE_NAME: 'fromenv',
    },
    readFile: (path) =>
      ({
        '/c.yaml': 'django:\n  sessionCookieName: fromfile\n  sessionCookieAge: 60\n',
        '/run/secret': 's3cret\n',
      })[path]!,
  });
  t.is(config.django.secretKey, 's3cret');
  t.is(config.django.sessionCookieName, 'fromenv');
  t.is(config.django.sessionCookieAge, 60);
});

test('setting both a variable and its _FILE is an error', (t) => {
  const error = failure({ ...base, FLOWERGATE_DJANGO_SECRET_KEY_FILE: '/x' }, { '/x': 'y' });
  t.regex(error.message, /either FLOWERGATE_DJANGO_SECRET_KEY or FLOWERGATE_DJANGO_SECRET_KEY_FILE/);
});

test('parses dj-database-url forms', (t) => {
  const at = (url: string) =>
    loadConfig({ env: { ...base, FLOWERGATE_DJANGO_DATABASE_URL: url } }).django.databaseUrl;
  t.deepEqual(at('sqlite:////srv/db.sqlite3'), { kind: 'sqlite', path: '/srv/db.sqlite3' });
  t.is((at('sqlite:///db.sqlite3') as { path: string }).path, `${process.cwd()}/db.sqlite3`);
  t.like(at('postgres://app:p%40ss@db:6432/site?sslmode=require'), {
    kind: 'postgres',
    host: 'db',
    port: 6432,
    user: 'app',
    password: 'p@ss',
    database: 'site',
  });
  t.like(at('mysql://root@127.0.0.1/site'), { kind: 'mysql', port: 3306, user: 'root' });
});

test('Django versions select their rules; dotted engine names are accepted', (t) => {
  const v = (version: string) =>
    loadConfig({ env: { ...base, FLOWERGATE_DJANGO_VERSION: version } }).django.version;
  t.like(v('3.2'), { legacySha1: true, signatureFallbacks: false, hashFallbacks: false });
  t.like(v('4.1.7'), { legacySha1: false, signatureFallbacks: true, hashFallbacks: false });
  t.like(v('4.1'), { hashFallbacks: true });
  t.like(v('6.1'), { signatureFallbacks: true, hashFallbacks: true });
  const engine = loadConfig({
    env: { ...base, FLOWERGATE_DJANGO_SESSION_ENGINE: 'django.contrib.sessions.backends.signed_cookies' },
  });
  t.is(engine.django.sessionEngine, 'signed_cookies');
});

test('the loaded configuration is frozen', (t) => {
  const config = loadConfig({ env: base });
  t.throws(() => {
    (config.django as { sessionCookieName: string }).sessionCookieName = 'x';
  });
});

test('every configuration leaf has a FLOWERGATE_ variable, including the PRODUCT.md names', (t) => {
  const names = new Set(configEnvironmentVariables().map((k) => k.name));
  for (const name of [
    'FLOWERGATE_DJANGO_SECRET_KEY',
    'FLOWERGATE_DJANGO_SECRET_KEY_FALLBACKS',
    'FLOWERGATE_DJANGO_DATABASE_URL',
    'FLOWERGATE_DJANGO_SESSION_ENGINE',
    'FLOWERGATE_DJANGO_SESSION_COOKIE_NAME',
    'FLOWERGATE_DJANGO_SESSION_COOKIE_AGE',
    'FLOWERGATE_DJANGO_SESSION_FILE_PATH',
    'FLOWERGATE_DJANGO_AUTHENTICATION_BACKENDS',
    'FLOWERGATE_DJANGO_VERSION',
    'FLOWERGATE_DJANGO_LOGIN_URL',
    'FLOWERGATE_UPSTREAM',
    'FLOWERGATE_LISTEN',
    'FLOWERGATE_ADMIN_LISTEN',
    'FLOWERGATE_CACHE_ALLOW_TTL',
    'FLOWERGATE_CACHE_DENY_TTL',
    'FLOWERGATE_TRUSTED_PROXIES',
    'FLOWERGATE_KUBERNETES_TOKEN_AUTH',
    'FLOWERGATE_POLICY_DEFAULT',
    'FLOWERGATE_URL_PREFIX',
    'FLOWERGATE_PROXY_URL_PREFIX',
    'FLOWERGATE_ALLOWED_HOSTS',
  ]) {
    t.true(names.has(name), name);
  }
});

test('ignores the variables Kubernetes service links inject for a Service named flowergate', (t) => {
  const config = loadConfig({
    env: {
      ...base,
      FLOWERGATE_SERVICE_HOST: '10.0.0.1',
      FLOWERGATE_SERVICE_PORT: '4180',
      FLOWERGATE_SERVICE_PORT_HTTP: '4180',
      FLOWERGATE_PORT: 'tcp://10.0.0.1:4180',
      FLOWERGATE_PORT_4180_TCP: 'tcp://10.0.0.1:4180',
      FLOWERGATE_PORT_4180_TCP_PROTO: 'tcp',
      FLOWERGATE_METRICS_SERVICE_HOST: '10.0.0.2',
      FLOWERGATE_METRICS_PORT_9464_TCP_ADDR: '10.0.0.2',
    },
  });
  t.is(config.listen, '0.0.0.0:4180');
  t.regex(failure({ ...base, FLOWERGATE_PORTS: 'x' }).message, /FLOWERGATE_PORTS: unknown setting/);
});

test("FLOWERGATE_URL_PREFIX takes Flower's --url_prefix with or without slashes; the proxy alias agrees or is an error", (t) => {
  for (const text of ['flower', '/flower', '/flower/', 'flower/', ' /flower ']) {
    const config = loadConfig({ env: { ...base, FLOWERGATE_URL_PREFIX: text } });
    t.is(effectiveUrlPrefix(config), '/flower', text);
    const alias = loadConfig({ env: { ...base, FLOWERGATE_PROXY_URL_PREFIX: text } });
    t.is(effectiveUrlPrefix(alias), '/flower', text);
  }
  t.is(effectiveUrlPrefix(loadConfig({ env: { ...base, FLOWERGATE_URL_PREFIX: 'a/b/' } })), '/a/b');
  t.is(effectiveUrlPrefix(loadConfig({ env: base })), '');
  t.is(effectiveUrlPrefix(loadConfig({ env: { ...base, FLOWERGATE_URL_PREFIX: '/' } })), '');
  t.is(
    effectiveUrlPrefix(
      loadConfig({
        env: { ...base, FLOWERGATE_URL_PREFIX: 'flower', FLOWERGATE_PROXY_URL_PREFIX: '/flower/' },
      }),
    ),
    '/flower',
  );
  t.regex(
    failure({ ...base, FLOWERGATE_URL_PREFIX: 'flower', FLOWERGATE_PROXY_URL_PREFIX: 'other' }).message,
    /urlPrefix.*differs from proxy\.urlPrefix/,
  );
  for (const bad of ['a//b', 'flower/..', './flower', 'fl%6fwer', 'a?b', 'a#b', 'a b'])
    t.regex(failure({ ...base, FLOWERGATE_URL_PREFIX: bad }).message, /urlPrefix/, bad);
});

test("FLOWERGATE_URL_PREFIX refuses what Flower would put into Tornado's URL patterns as regex syntax, and flowergate's own /_flowergate/", (t) => {
  // Flower pastes --url_prefix into its handlers' regular expressions unescaped: with `flow+er` Tornado routes
  // /flowwwer/… and never /flow+er/…, with `fl(ow)er` every handler gets an extra argument. And the sidecar
  // never proxies /_flowergate/, so a Flower there could not be reached.
  for (const bad of [
    'flow+er',
    'fl(ow)er',
    'flow*er',
    'flower$',
    'a/b(c)',
    '_flowergate',
    '/_flowergate/x',
  ]) {
    const message = failure({ ...base, FLOWERGATE_URL_PREFIX: bad }).message;
    t.regex(message, /urlPrefix/, bad);
    t.regex(message, /regular expression|_flowergate/, bad);
  }
  // Honest twins: what Flower routes literally.
  for (const good of ['my-flower_1', 'tools/flower', '_flowergate2', 'fl@wer,1;x=y'])
    t.is(effectiveUrlPrefix(loadConfig({ env: { ...base, FLOWERGATE_URL_PREFIX: good } })), `/${good}`);
});

test('FLOWERGATE_ALLOWED_HOSTS is a comma-separated list, kept in lower case', (t) => {
  const config = loadConfig({
    env: { ...base, FLOWERGATE_ALLOWED_HOSTS: 'Flower.Example.com, .corp.example,*' },
  });
  t.deepEqual(config.allowedHosts, ['flower.example.com', '.corp.example', '*']);
  t.deepEqual(loadConfig({ env: base }).allowedHosts, []);
});
