/**
 * Where the chart takes each secret from (Helm 4): existingSecret, per-value `valueFrom`, the
 * database URL from its parts, or the user's own extraEnv. Each case is loaded by flowergate's own
 * configuration loader as the pod would see it, so "renders" also means "starts".
 */
import test from 'ava';
import { runHelm, templateArgs } from '../../scripts/k8s/helm.ts';
import { startupConfig } from './pod-env.ts';
import { container, DATABASE_URL, kinds, one, podSpec, renderWith, SECRET_KEY } from './render-helpers.ts';

const dbSecret = {
  'app-db': { uri: DATABASE_URL, host: 'db.internal', user: 'flowergate', password: 'pw-91b2' },
};
const django = { django: { 'django-secret-key': SECRET_KEY } };
// biome-ignore lint/suspicious/noExplicitAny: rendered env entries are arbitrary JSON
const envNamed = (objects: Awaited<ReturnType<typeof renderWith>>, name: string): any =>
  container(objects, 'flowergate').env.find((e: { name: string }) => e.name === name);

test('two Secrets: the SECRET_KEY from existingSecret, the database URL from another Secret; the pod starts', async (t) => {
  const objects = await renderWith({
    mode: 'forward-auth',
    secrets: {
      existingSecret: 'django',
      valueFrom: { djangoDatabaseUrl: { secretKeyRef: { name: 'app-db', key: 'uri' } } },
    },
  });
  t.deepEqual(envNamed(objects, 'FLOWERGATE_DJANGO_DATABASE_URL').valueFrom, {
    secretKeyRef: { name: 'app-db', key: 'uri' },
  });
  t.is(
    envNamed(objects, 'FLOWERGATE_DJANGO_DATABASE_URL_FILE'),
    undefined,
    'never the variable and its _FILE',
  );
  const volume = podSpec(objects).volumes.find((v: { name: string }) => v.name === 'secrets');
  t.deepEqual(volume.secret.items, [{ key: 'django-secret-key', path: 'django-secret-key' }]);
  t.false(kinds(objects).includes('Secret'), 'the chart creates no Secret');

  const config = startupConfig(objects, { ...django, ...dbSecret });
  t.is(config.django.secretKey, SECRET_KEY);
  t.like(config.django.databaseUrl, { kind: 'postgres', host: 'db.internal', database: 'app' });
});

test('the same two Secrets through extraEnv: the chart steps aside instead of setting the _FILE too', async (t) => {
  const objects = await renderWith({
    mode: 'forward-auth',
    secrets: { existingSecret: 'django' },
    extraEnv: [
      { name: 'FLOWERGATE_DJANGO_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'app-db', key: 'uri' } } },
    ],
  });
  const names = container(objects, 'flowergate').env.map((e: { name: string }) => e.name);
  t.is(names.filter((n: string) => n.startsWith('FLOWERGATE_DJANGO_DATABASE_URL')).length, 1);
  t.like(startupConfig(objects, { ...django, ...dbSecret }).django.databaseUrl, { host: 'db.internal' });
});

test('every secret from valueFrom: no Secret, no secret volume, no secret checksum', async (t) => {
  const objects = await renderWith({
    mode: 'sidecar',
    secrets: {
      valueFrom: {
        djangoSecretKey: { secretKeyRef: { name: 'django', key: 'django-secret-key' } },
        djangoSecretKeyFallbacks: { secretKeyRef: { name: 'django', key: 'old-keys', optional: true } },
        djangoDatabaseUrl: { secretKeyRef: { name: 'app-db', key: 'uri' } },
        celeryBrokerUrl: { secretKeyRef: { name: 'redis', key: 'url' } },
      },
    },
  });
  t.false(kinds(objects).includes('Secret'));
  t.false(podSpec(objects).volumes.some((v: { name: string }) => v.name === 'secrets'));
  t.false(container(objects, 'flowergate').volumeMounts.some((m: { name: string }) => m.name === 'secrets'));
  const annotations = one(objects, 'Deployment').spec.template.metadata.annotations;
  t.is(annotations['checksum/secret'], undefined);
  t.truthy(annotations['checksum/config']);
  const broker = container(objects, 'flower').env.find(
    (e: { name: string }) => e.name === 'CELERY_BROKER_URL',
  );
  t.deepEqual(broker.valueFrom, { secretKeyRef: { name: 'redis', key: 'url' } });
  const config = startupConfig(objects, {
    django: { 'django-secret-key': SECRET_KEY, 'old-keys': 'old-1,old-2' },
    ...dbSecret,
  });
  t.deepEqual(config.django.secretKeyFallbacks, ['old-1', 'old-2']);
  t.is(config.upstream, 'http://127.0.0.1:5555');
});

test('the database URL from its parts: Kubernetes joins host, port, name, user and password', async (t) => {
  const objects = await renderWith({
    mode: 'forward-auth',
    secrets: {
      existingSecret: 'django',
      databaseUrlParts: {
        scheme: 'postgres',
        host: { valueFrom: { secretKeyRef: { name: 'app-db', key: 'host' } } },
        port: { value: 6432 },
        name: { value: 'site' },
        user: { valueFrom: { secretKeyRef: { name: 'app-db', key: 'user' } } },
        password: { valueFrom: { secretKeyRef: { name: 'app-db', key: 'password' } } },
        options: 'sslmode=require',
      },
    },
  });
  const url = envNamed(objects, 'FLOWERGATE_DJANGO_DATABASE_URL');
  t.is(
    url.value,
    'postgres://$(DJANGO_DATABASE_USER):$(DJANGO_DATABASE_PASSWORD)@$(DJANGO_DATABASE_HOST):$(DJANGO_DATABASE_PORT)/$(DJANGO_DATABASE_NAME)?sslmode=require',
  );
  // Kubernetes expands $(VAR) only from variables defined earlier in the list.
  const names = container(objects, 'flowergate').env.map((e: { name: string }) => e.name);
  for (const part of ['HOST', 'PORT', 'NAME', 'USER', 'PASSWORD'])
    t.true(names.indexOf(`DJANGO_DATABASE_${part}`) < names.indexOf('FLOWERGATE_DJANGO_DATABASE_URL'));
  t.is(envNamed(objects, 'FLOWERGATE_DJANGO_DATABASE_URL_FILE'), undefined);
  const config = startupConfig(objects, { ...django, ...dbSecret });
  t.like(config.django.databaseUrl, {
    kind: 'postgres',
    host: 'db.internal',
    port: 6432,
    user: 'flowergate',
    password: 'pw-91b2',
    database: 'site',
    options: { sslmode: 'require' },
  });
});

const refused: [string, Record<string, unknown>, RegExp][] = [
  [
    'an inline database URL and a valueFrom for it',
    {
      mode: 'forward-auth',
      secrets: {
        djangoSecretKey: SECRET_KEY,
        djangoDatabaseUrl: DATABASE_URL,
        valueFrom: { djangoDatabaseUrl: { secretKeyRef: { name: 'app-db', key: 'uri' } } },
      },
    },
    /secrets\.djangoDatabaseUrl is set, but the value comes from secrets\.valueFrom\.djangoDatabaseUrl/,
  ],
  [
    'database URL parts without a host',
    {
      mode: 'forward-auth',
      secrets: {
        existingSecret: 'django',
        databaseUrlParts: { scheme: 'postgres', name: { value: 'site' } },
      },
    },
    /secrets\.databaseUrlParts\.host is needed/,
  ],
  [
    'database URL parts without a scheme',
    {
      mode: 'forward-auth',
      secrets: { existingSecret: 'django', databaseUrlParts: { host: { value: 'db' } } },
    },
    /databaseUrlParts\.host is set but secrets\.databaseUrlParts\.scheme is empty/,
  ],
  [
    'no SECRET_KEY from anywhere',
    {
      mode: 'forward-auth',
      secrets: { valueFrom: { djangoDatabaseUrl: { secretKeyRef: { name: 'app-db', key: 'uri' } } } },
    },
    /SECRET_KEY is missing: .*secrets\.valueFrom\.djangoSecretKey/,
  ],
];
for (const [title, values, message] of refused) {
  test(`the chart refuses ${title}, and says what to change`, async (t) => {
    const result = await runHelm('helm4', templateArgs({ values }));
    t.not(result.code, 0);
    t.regex(result.stderr, message);
  });
}

test('the schema refuses a valueFrom that is not an EnvVarSource', async (t) => {
  const withDatabaseUrlFrom = (valueFrom: Record<string, unknown>) =>
    runHelm(
      'helm4',
      templateArgs({
        values: {
          mode: 'forward-auth',
          secrets: { existingSecret: 'django', valueFrom: { djangoDatabaseUrl: valueFrom } },
        },
      }),
    );
  const bad = await withDatabaseUrlFrom({ secretKeyRef: { name: 'app-db' } });
  t.not(bad.code, 0, 'a secretKeyRef without its key');
  const good = await withDatabaseUrlFrom({ secretKeyRef: { name: 'app-db', key: 'uri' } });
  t.is(good.code, 0, good.stderr);
});
