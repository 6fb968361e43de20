// nginx picks the server by the host of an absolute-form request line (`POST http://flower.example/… HTTP/1.1`),
// but `$http_host` stays the Host header as the client wrote it: an X-Original-URL built from `$http_host` lets
// the client choose the host flowergate judges, and with it a host-scoped rule or an allowed host. The README's
// plain auth_request recipe refuses in nginx a request whose two hosts differ; this runs its lines, read from
// the README, in a real nginx, with a policy where one host is more lenient than the other.

import { djangoTool, startDjangoSite, startFlowergate } from '../support/e2e.ts';
import { FAKE_TASK_ID, startFlowerUpstream } from '../support/flower-upstream.ts';
import { readmeRecipe } from '../support/hygiene-recipes.ts';
import { startNginx } from '../support/nginx.ts';
import { toolTest } from '../support/require-tool.ts';
import { rawRequest } from './raw-http.ts';
import { marked } from './topologies.ts';

const maybe = await toolTest('nginx', djangoTool());

const LENIENT = 'internal.example';
const REVOKE = `/flower/api/task/revoke/${FAKE_TASK_ID}`;

maybe(
  'nginx auth_request (README recipe): the host judged is the host nginx routed by; an absolute-form request line naming one host while Host names a more lenient one is refused, the lenient host asked honestly passes',
  async (t) => {
    const site = await startDjangoSite({ t });
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const fg = await startFlowergate({
      site,
      env: { FLOWERGATE_URL_PREFIX: 'flower', FLOWERGATE_ALLOWED_HOSTS: `127.0.0.1,${LENIENT}` },
      rules: [{ name: 'internal host: staff may act', hosts: [LENIENT], require: 'staff' }],
      t,
    });
    const nginx = await startNginx({
      recipe: 'auth_request',
      authUrl: `${fg.url}/_flowergate/auth/nginx`,
      upstream: flower.url,
      snippets: { http: readmeRecipe('nginx-host-http'), location: readmeRecipe('nginx-host-location') },
      t,
    });
    const { host } = new URL(nginx.url);
    const cookie = await site.cookie('staff');
    const revoke = (mark: string, target: string, hostHeader: string) =>
      rawRequest(nginx.url, [
        `POST ${target} HTTP/1.1`,
        `Host: ${hostHeader}`,
        `Cookie: ${cookie}`,
        `Origin: http://${hostHeader}`,
        `X-Attack-Id: ${mark}`,
        'Content-Length: 0',
        'Connection: close',
      ]);

    // Hostile: nginx routes by http://127.0.0.1:<port>, the Host header names the lenient host.
    const hostile = await revoke('abs-hostile', `http://${host}${REVOKE}`, LENIENT);
    t.is(hostile.status, 400, 'refused by nginx: the request line and Host name different hosts');
    t.deepEqual(await marked(flower, 'abs-hostile'), [], 'never reached Flower');

    // Honest twins: the lenient host asked with both hosts agreeing (also absolute-form) reaches Flower,
    // and on the strict host staff may not act.
    const honest = await revoke('abs-honest', REVOKE, LENIENT);
    t.is(honest.status, 200, 'staff may act on the internal host');
    t.is((await marked(flower, 'abs-honest')).length, 1);
    const honestAbsolute = await revoke('abs-honest-absolute', `http://${LENIENT}${REVOKE}`, `${LENIENT}:80`);
    t.is(honestAbsolute.status, 200, 'the same host in both, the Host with a port');
    const strict = await revoke('abs-strict', REVOKE, host);
    t.is(strict.status, 403, 'staff may not act on the public host');
    t.deepEqual(await marked(flower, 'abs-strict'), []);
  },
);
