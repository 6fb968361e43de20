// What only the sidecar can get wrong, since it is the proxy: client-sent identity headers reaching Flower,
// request framing Tornado could read differently, and a WebSocket handshake Flower did not upgrade holding up
// shutdown. Each hostile request has its honest twin. Real Django sessions; the Tornado Flower stand-in records
// what reached it.

import {
  djangoTool,
  type FlowergateInProcess,
  request,
  shared,
  startDjangoSite,
  startFlowergate,
  startFlowergateInProcess,
} from '../support/e2e.ts';
import { type FlowerUpstream, startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX } from './attacks.ts';
import { type RawResponse, rawRequest, websocketHandshake } from './raw-http.ts';

const maybe = await toolTest('tornado', djangoTool());

/** The identity header this flowergate is configured to set (FLOWERGATE_HEADERS_USER). */
const CONFIGURED_USER = 'X-Webauth-User';
/** Names other gates and apps read as "who is this": a client must never be able to send them to Flower. */
const IDENTITY_HEADERS = [
  CONFIGURED_USER,
  'Remote-User',
  'X-Remote-User',
  'X-Forwarded-User',
  'X-Forwarded-Email',
  'X-Forwarded-Preferred-Username',
  'X-Forwarded-Groups',
  // WSGI and CGI servers read `_` as `-` (HTTP_REMOTE_USER): the same headers to an app behind Flower
  'Remote_User',
  'X-Webauth_User',
  'X_Forwarded_Email',
];
/**
 * Framings other than a lone `chunked`: each is a way two parsers may disagree on where a body ends.
 * `counted`: refused by flowergate's own framing rule, so counted as a `bad_request` decision; the others
 * Node's HTTP parser answers 400 before any handler sees a request.
 */
const BAD_FRAMINGS: ReadonlyArray<{ name: string; lines: string[]; counted: boolean }> = [
  { name: 'gzip, chunked', lines: ['Transfer-Encoding: gzip, chunked'], counted: true },
  { name: 'chunked, chunked', lines: ['Transfer-Encoding: chunked, chunked'], counted: false },
  { name: 'identity, chunked', lines: ['Transfer-Encoding: identity, chunked'], counted: true },
  {
    name: 'two Transfer-Encoding lines',
    lines: ['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'],
    counted: true,
  },
  { name: 'chunked, gzip', lines: ['Transfer-Encoding: chunked, gzip'], counted: false },
  {
    name: 'chunked with a Content-Length',
    lines: ['Transfer-Encoding: chunked', 'Content-Length: 3'],
    counted: false,
  },
];

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const sidecar = await startFlowergateInProcess({
    site,
    env: {
      FLOWERGATE_URL_PREFIX: 'flower',
      FLOWERGATE_ALLOWED_HOSTS: '127.0.0.1',
      FLOWERGATE_UPSTREAM: flower.url,
      FLOWERGATE_HEADERS_USER: CONFIGURED_USER,
    },
    t,
  });
  return { site, flower, sidecar };
});

let marks = 0;
const mark = (label: string) => `${label}-${++marks}`;
const marked = async (flower: FlowerUpstream, id: string) =>
  (await flower.requests()).filter((r) => r.headers['x-attack-id'] === id);

maybe(
  'client-sent identity headers never reach Flower; the configured one carries the real user',
  async (t) => {
    const { site, flower, sidecar } = await setup();
    const forged = Object.fromEntries(IDENTITY_HEADERS.map((name) => [name, 'root']));
    const cases = [
      { who: 'staff', cookie: await site.cookie('staff'), path: `${PREFIX}/tasks`, user: 'staff' },
      { who: 'nobody, on a public path', cookie: undefined, path: `${PREFIX}/healthcheck`, user: '' },
    ];
    for (const c of cases) {
      const bad = mark('identity-hostile');
      const res = await request(`${sidecar.url}${c.path}`, {
        headers: { ...forged, ...(c.cookie ? { cookie: c.cookie } : {}), 'x-attack-id': bad },
      });
      t.is(res.status, 200, c.who);
      const [seen] = await marked(flower, bad);
      t.truthy(seen, `${c.who}: reached Flower`);
      for (const name of IDENTITY_HEADERS.slice(1)) {
        t.is(seen?.headers[name.toLowerCase()], undefined, `${c.who}: ${name} was stripped`);
      }
      t.is(seen?.headers[CONFIGURED_USER.toLowerCase()] ?? '', c.user, `${c.who}: ${CONFIGURED_USER}`);
      t.false(
        (seen?.rawHeaders ?? []).some(([, value]) => value === 'root'),
        `${c.who}: no forged value anywhere`,
      );

      const good = mark('identity-honest');
      const honest = await request(`${sidecar.url}${c.path}`, {
        headers: { ...(c.cookie ? { cookie: c.cookie } : {}), 'x-attack-id': good },
      });
      t.is(honest.status, 200, `${c.who}: honest twin`);
      t.is((await marked(flower, good))[0]?.headers[CONFIGURED_USER.toLowerCase()] ?? '', c.user);
    }
  },
);

/** A staff POST of the tasks table feed (Flower's one read-only POST) with the given framing lines. */
async function postFeed(url: string, cookie: string, id: string, framing: string[]): Promise<RawResponse> {
  const { host } = new URL(url);
  const res = await rawRequest(
    url,
    [
      `POST ${PREFIX}/tasks/datatable HTTP/1.1`,
      `Host: ${host}`,
      `Cookie: ${cookie}`,
      `Origin: ${url}`,
      `X-Attack-Id: ${id}`,
      'Content-Type: application/x-www-form-urlencoded',
      'Connection: close',
      ...framing,
    ],
    '7\r\ndraw=1&\r\n0\r\n\r\n',
  );
  res.socket.destroy();
  return res;
}

/** flowergate_auth_decisions_total for the sidecar's bad_request refusals. */
async function badRequestCount(fg: FlowergateInProcess): Promise<number> {
  const text = await fg.registry.getSingleMetricAsString('flowergate_auth_decisions_total');
  const line = text
    .split('\n')
    .find((l) => l.includes('dialect="proxy"') && l.includes('reason="bad_request"'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

for (const framing of BAD_FRAMINGS) {
  maybe(
    `Transfer-Encoding "${framing.name}" is refused (400/501), counted as bad_request, and nothing reaches Flower`,
    async (t) => {
      const { site, flower, sidecar } = await setup();
      const cookie = await site.cookie('staff');
      const bad = mark('framing-hostile');
      const before = await badRequestCount(sidecar);
      const hostile = await postFeed(sidecar.url, cookie, bad, framing.lines);
      t.true([400, 501].includes(hostile.status), `status ${hostile.status}`);
      t.deepEqual(await marked(flower, bad), []);
      // Counted like every refusal (other framing tests run at the same time: at least this one).
      if (framing.counted)
        t.true(
          (await badRequestCount(sidecar)) > before,
          'flowergate_auth_decisions_total{reason="bad_request"} grew',
        );

      const good = mark('framing-honest');
      const honest = await postFeed(sidecar.url, cookie, good, ['Transfer-Encoding: chunked']);
      t.is(honest.status, 200, 'a lone chunked is fine');
      t.like((await marked(flower, good))[0], { method: 'POST', uri: `${PREFIX}/tasks/datatable` });
    },
  );
}

/** A sidecar of its own: drain() is once per process. */
async function drainingSidecar(t: Parameters<typeof startFlowergateInProcess>[0]['t']) {
  const { site, flower } = await setup();
  const fg: FlowergateInProcess = await startFlowergateInProcess({
    site,
    env: {
      FLOWERGATE_URL_PREFIX: 'flower',
      FLOWERGATE_ALLOWED_HOSTS: '127.0.0.1',
      FLOWERGATE_UPSTREAM: flower.url,
    },
    t,
  });
  return { fg, cookie: await site.cookie('root') };
}

/** Resolves 'drained' when drain() finishes within `withinMs`, else 'waiting' (drain goes on). */
const drainedWithin = (drain: Promise<void>, withinMs: number) =>
  Promise.race([
    drain.then(() => 'drained' as const),
    new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), withinMs)),
  ]);

maybe('a WebSocket handshake Flower answers with 200 does not hold up shutdown', async (t) => {
  const { fg, cookie } = await drainingSidecar(t);
  // Flower has no WebSocket here: Tornado answers the handshake with the tasks page
  const res = await rawRequest(
    fg.url,
    websocketHandshake(fg.url, `${PREFIX}/tasks`, { Origin: fg.url, Cookie: cookie }),
    '',
    { halfOpen: true }, // a client that never closes its side, so only the exchange's own end can count
  );
  t.is(res.status, 200);
  // a 30 s drain deadline; what matters is that drain does not wait for it
  t.is(await drainedWithin(fg.app.sidecar!.drain(30_000), 10_000), 'drained');
  res.socket.destroy();
});

maybe('an upgraded WebSocket does hold up shutdown until it closes (the twin)', async (t) => {
  const { fg, cookie } = await drainingSidecar(t);
  const res = await rawRequest(
    fg.url,
    websocketHandshake(fg.url, `${PREFIX}/ws/echo`, { Origin: fg.url, Cookie: cookie }),
  );
  t.is(res.status, 101);
  const drain = fg.app.sidecar!.drain(30_000);
  t.is(await drainedWithin(drain, 1_000), 'waiting', 'an open WebSocket is work in flight');
  res.socket.destroy();
  t.is(await drainedWithin(drain, 10_000), 'drained', 'and once it closes, drain is done');
});
