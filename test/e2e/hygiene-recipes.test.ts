// The README's forward-auth hygiene recipes (read from the README itself), in a real nginx and a real Caddy in
// front of the Flower stand-in, with real Django sessions; each next to the same proxy without the recipe, so
// the test shows what the recipe changes: Flower no longer sees the Django session cookie, the browser no
// longer gets Flower's `Access-Control-Allow-Origin: *`, and a refused user meets flowergate's page, not nginx's.

import { startCaddy } from '../support/caddy.ts';
import {
  djangoTool,
  type HttpResponse,
  marker,
  request,
  seenUpstream,
  shared,
  startDjangoSite,
  startFlowergate,
} from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { caddyHygieneRecipe, nginxHygieneRecipe } from '../support/hygiene-recipes.ts';
import { startNginx } from '../support/nginx.ts';
import { toolTest } from '../support/require-tool.ts';

const withNginx = await toolTest('nginx', 'tornado', djangoTool());
const withCaddy = await toolTest('caddy', 'tornado', djangoTool());

const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  const flower = await startFlowerUpstream({ t });
  const fg = await startFlowergate({
    site,
    configFile: null,
    env: { FLOWERGATE_POLICY_PRESET: 'flower-read-only-staff' },
    t,
  });
  return { site, flower, fg };
});

const nginxPair = shared(async (t) => {
  const { flower, fg } = await setup();
  const authUrl = `${fg.url}/_flowergate/auth/nginx`;
  const recipe = nginxHygieneRecipe(fg.address);
  return {
    bare: await startNginx({ authUrl, upstream: flower.url, t }),
    clean: await startNginx({
      authUrl,
      upstream: flower.url,
      snippets: { server: recipe.server, location: recipe.location },
      t,
    }),
  };
});

const caddyPair = shared(async (t) => {
  const { flower, fg } = await setup();
  return {
    bare: await startCaddy({ auth: fg.address, upstream: flower.url, t }),
    clean: await startCaddy({
      auth: fg.address,
      upstream: flower.url,
      snippets: { reverseProxy: caddyHygieneRecipe() },
      t,
    }),
  };
});

const browserNavigation = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate' };

/** A superuser's page through `proxy`: what Flower was sent and what the browser got. */
async function allowedPage(proxy: string) {
  const { site, flower } = await setup();
  const m = marker('hygiene');
  const res = await request(`${proxy}/workers?m=${m}`, {
    headers: { cookie: `csrftoken=abc; ${await site.cookie('root')}`, ...browserNavigation },
  });
  const [seen] = await seenUpstream(flower, m);
  return { res, seen };
}

const corsHeaders = (res: HttpResponse) =>
  Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));

for (const [name, maybe, pair] of [
  ['nginx', withNginx, nginxPair],
  ['Caddy', withCaddy, caddyPair],
] as const) {
  maybe(
    `${name} with the README recipe keeps the session cookie from Flower and Flower's CORS headers from the browser`,
    async (t) => {
      const { site } = await setup();
      const { bare, clean } = await pair();
      const sessionid = (await site.cookie('root')).split('=')[1]!;

      const before = await allowedPage(bare.url);
      t.is(before.res.status, 200);
      t.true(
        before.seen?.headers.cookie?.includes(sessionid),
        'without the recipe Flower gets the session cookie',
      );
      t.is(
        before.res.headers['access-control-allow-origin'],
        '*',
        "without it the browser gets Flower's CORS",
      );

      const after = await allowedPage(clean.url);
      t.is(after.res.status, 200, 'the recipe still lets the superuser in');
      t.is(after.seen?.headers['x-auth-request-user'], 'root');
      t.is(after.seen?.headers.cookie, undefined, 'Flower gets no cookie at all');
      t.deepEqual(corsHeaders(after.res), [], 'no Access-Control-* header reaches the browser');
    },
  );
}

withNginx(
  'nginx with the README recipe shows flowergate’s refusal page and JSON for a 403, not its own page',
  async (t) => {
    const { site, flower } = await setup();
    const { bare, clean } = await nginxPair();
    const plain = await site.cookie('plain');

    const bareRefusal = await request(`${bare.url}/workers`, {
      headers: { cookie: plain, ...browserNavigation },
    });
    t.is(bareRefusal.status, 403);
    t.regex(bareRefusal.body, /<center>nginx<\/center>/, "without the recipe: nginx's bare page");

    const page = await request(`${clean.url}/workers`, { headers: { cookie: plain, ...browserNavigation } });
    t.is(page.status, 403);
    t.regex(page.headers['content-type'] ?? '', /^text\/html/);
    const text = page.body.replace(/<[^>]+>/g, '');
    t.regex(text, /signed in as plain/);
    t.regex(text, /needs\s+staff/);
    t.notRegex(page.body, /<center>nginx<\/center>/);

    // Flower's own buttons send XHR POSTs: they get flowergate's JSON, and nothing reaches Flower.
    const m = marker('hygiene-act');
    const act = await request(`${clean.url}/api/task/revoke/x?m=${m}`, {
      method: 'POST',
      headers: {
        cookie: await site.cookie('staff'),
        'x-requested-with': 'XMLHttpRequest',
        origin: clean.url,
      },
    });
    t.is(act.status, 403);
    t.like(JSON.parse(act.body), { decision: 'forbidden', reason: 'not_superuser' });
    t.deepEqual(await seenUpstream(flower, m), []);

    // The page is only ever a refusal: the same request with a superuser session is let through, unchanged.
    const root = await request(`${clean.url}/workers`, { headers: { cookie: await site.cookie('root') } });
    t.is(root.status, 200);
  },
);
