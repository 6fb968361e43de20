import test, { type ExecutionContext } from 'ava';
import { request, startFlowergate } from '../support/e2e.ts';

// /_flowergate/sign_in (ingress-nginx `auth-signin`): the `rd` it passes on as Django's `next` must bring the
// browser back to Flower. A relative rd is a path on Flower's host; passed on as is, Django would resolve it
// against its own host after the login.

const start = (t: ExecutionContext, allowedHosts?: string) =>
  startFlowergate({
    site: null,
    configFile: null,
    env: {
      FLOWERGATE_DJANGO_SECRET_KEY: 'main-app-test-secret-key-0123456789',
      FLOWERGATE_DJANGO_DATABASE_URL: 'sqlite:////nonexistent/db.sqlite3',
      FLOWERGATE_DJANGO_LOGIN_URL: 'https://app.example.com/accounts/login/',
      ...(allowedHosts ? { FLOWERGATE_ALLOWED_HOSTS: allowedHosts } : {}),
    },
    t,
  });

const nextOf = (location: string | string[] | undefined) =>
  new URL(String(location)).searchParams.get('next');

test('a relative rd becomes an absolute URL on the Flower host, with the scheme the ingress saw', async (t) => {
  const fg = await start(t, 'flower.example.com');
  const res = await request(`${fg.url}/_flowergate/sign_in?rd=${encodeURIComponent('/flower/tasks?x=1')}`, {
    headers: { host: 'flower.example.com', 'x-forwarded-proto': 'https' },
  });
  t.is(res.status, 302);
  t.is(nextOf(res.headers.location), 'https://flower.example.com/flower/tasks?x=1');
  const plain = await request(`${fg.url}/_flowergate/sign_in?rd=/tasks`, {
    headers: { host: 'flower.example.com' },
  });
  t.is(nextOf(plain.headers.location), 'http://flower.example.com/tasks');
});

test('a relative rd on a host that is not allowed, or a scheme-relative one, is dropped, never passed on', async (t) => {
  const fg = await start(t, 'flower.example.com');
  for (const [rd, host] of [
    ['/tasks', 'evil.example'],
    ['//evil.example/tasks', 'flower.example.com'],
    ['/\\evil.example/tasks', 'flower.example.com'],
  ]) {
    const res = await request(`${fg.url}/_flowergate/sign_in?rd=${encodeURIComponent(rd!)}`, {
      headers: { host: host! },
    });
    t.is(res.status, 302, rd);
    t.is(nextOf(res.headers.location), null, `${rd} from Host ${host}`);
  }
  // Without FLOWERGATE_ALLOWED_HOSTS the own host is never a target: the login happens, Django picks the page.
  const unset = await start(t);
  const res = await request(`${unset.url}/_flowergate/sign_in?rd=/tasks`, {
    headers: { host: 'flower.example.com' },
  });
  t.is(nextOf(res.headers.location), null);
});
