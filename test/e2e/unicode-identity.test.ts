// Unicode identities end to end. Django's UnicodeUsernameValidator allows any \w, so "jürgen-用户" is a real
// username; emails and group names are free text. Real Django makes the users and their sessions (its login
// form); flowergate (`node src/cli.ts serve`) answers real nginx auth_request and Caddy forward_auth, and runs
// as the sidecar proxy in front of the Tornado Flower stand-in, whose record decodes the header bytes as UTF-8
// the way a WSGI app does. A username with CR LF, made around Django's validator with the ORM, must never
// become a header line: that header is left out, and flowergate says so on stderr.

import { PREFIX, startGateProcess } from '../proxy/harness.ts';
import { startCaddy } from '../support/caddy.ts';
import {
  djangoTool,
  type FlowergateProcess,
  marker,
  request,
  type SiteUser,
  seenUpstream,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { type RecordedRequest, startFlowerUpstream } from '../support/flower-upstream.ts';
import { startNginx } from '../support/nginx.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('nginx', 'caddy', 'tornado', djangoTool());

const JURGEN = {
  username: 'jürgen-用户',
  password: 'jürgen-pass-5xK1',
  email: 'jürgen@bücher.example',
  is_superuser: true,
  groups: ['Ops-Équipe', '运维'],
} as const satisfies SiteUser;

/** Only the ORM lets this in; Django's form validation would refuse the name. */
const MALLORY = {
  username: 'mallory\r\nX-Auth-Request-User: root',
  password: 'mallory-pass-8vN3',
  email: 'mallory@example.com',
  is_superuser: true,
} as const satisfies SiteUser;

const setup = shared(async (t) => {
  const site = await startDjangoSite({ users: [JURGEN, MALLORY], t });
  const [flower, prefixed] = await Promise.all([
    startFlowerUpstream({ t }),
    startFlowerUpstream({ prefix: 'flower', t }),
  ]);
  const fg = (await startFlowergate({ site, mode: 'process', t })) as FlowergateProcess;
  const [nginx, caddy, sidecar] = await Promise.all([
    startNginx({ authUrl: `${fg.url}/_flowergate/auth/nginx`, upstream: flower.url, t }),
    startCaddy({ auth: fg.address, upstream: flower.url, t }),
    startGateProcess({ site, upstream: prefixed, t }),
  ]);
  const [jurgen, mallory] = await Promise.all([site.cookie(JURGEN.username), site.cookie(MALLORY.username)]);
  return { site, flower, prefixed, fg, nginx, caddy, sidecar, jurgen, mallory };
});

type World = Awaited<ReturnType<typeof setup>>;

/** Each way in: where to send the request, which upstream records it, whose stderr has the warning. */
const ROUTES = {
  'nginx auth_request': (w: World) => ({ url: `${w.nginx.url}/workers`, flower: w.flower, fg: w.fg }),
  'Caddy forward_auth': (w: World) => ({ url: `${w.caddy.url}/workers`, flower: w.flower, fg: w.fg }),
  'the sidecar proxy': (w: World) => ({
    url: `${w.sidecar.url}${PREFIX}/workers`,
    flower: w.prefixed,
    fg: w.sidecar,
  }),
} as const;

async function through(route: keyof typeof ROUTES, cookie: (w: World) => string, extra = {}) {
  const w = await setup();
  const { url, flower, fg } = ROUTES[route](w);
  const m = marker('unicode');
  const res = await request(`${url}?m=${m}`, { headers: { cookie: cookie(w), ...extra } });
  const seen: RecordedRequest | undefined = (await seenUpstream(flower, m))[0];
  return { res, seen, fg };
}

for (const route of Object.keys(ROUTES) as Array<keyof typeof ROUTES>) {
  maybe(
    `a Unicode username, email and group names reach the upstream through ${route} as UTF-8`,
    async (t) => {
      const { res, seen } = await through(route, (w) => w.jurgen);
      t.is(res.status, 200);
      t.like(seen?.headersUtf8, {
        'x-auth-request-user': 'jürgen-用户',
        'x-auth-request-email': 'jürgen@bücher.example',
        'x-auth-request-groups': 'Ops-Équipe,运维',
      });
      // the bytes themselves, as Tornado saw them (one latin-1 character per byte)
      t.is(seen?.headers['x-auth-request-user'], Buffer.from('jürgen-用户', 'utf8').toString('latin1'));
    },
  );

  maybe(`a username with CR LF never becomes a header line through ${route}; flowergate warns`, async (t) => {
    // the client tries to add its own copy as well: it must not survive either
    const { res, seen, fg } = await through(route, (w) => w.mallory, { 'x-auth-request-user': 'root' });
    t.is(res.status, 200, 'the policy allowed this superuser; only the header is withheld');
    t.truthy(seen, 'the request reached the upstream');
    t.falsy(seen?.headers['x-auth-request-user'], 'no user header, neither ours nor the client’s');
    t.false(
      (seen?.rawHeaders ?? []).some(([name, value]) => /root/.test(value) || /mallory/i.test(name)),
      'nothing of the name reached the upstream as a header',
    );
    t.is(seen?.headers['x-auth-request-email'], 'mallory@example.com', 'the other headers are still sent');
    t.regex(
      fg.proc.stderr(),
      /\[FLOWERGATE_HEADER_NOT_SENT\] Warning: X-Auth-Request-User not sent upstream for Django user "mallory\\r\\nX-Auth-Request-User: root" \(id \d+\): it has a control character \(U\+000D\)/,
    );
  });
}
