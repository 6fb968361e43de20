// The browser flow of browser.test.ts, through flowergate's sidecar proxy instead of Caddy forward_auth: a real
// Chromium (playwright-core), Django's own login page served by `runserver`, the Tornado Flower stand-in under
// --url_prefix=flower behind flowergate (FLOWERGATE_UPSTREAM, FLOWERGATE_URL_PREFIX=/flower).
//
// Same host for the cookie. browser.test.ts relies on cookies being per host, not per port, so Django on one
// 127.0.0.1 port and Caddy on another share `sessionid`. That would work here too, but it is not how a sidecar
// behind a url_prefix is deployed: there one ingress serves the site's host, sends `/flower/…` to the pod's
// flowergate port and everything else to Django, so the login, the session cookie and Flower share one origin.
// Caddy plays that ingress here (startCaddyRouter: plain reverse_proxy by path, no forward_auth): the browser
// only ever talks to Caddy, flowergate's login redirect points at the login page through Caddy, and flowergate
// trusts Caddy's X-Forwarded-* as it would the ingress's (FLOWERGATE_TRUSTED_PROXIES).

import type { PolicyRule } from '../../src/config/schema.ts';
import { PREFIX, RULES } from '../proxy/harness.ts';
import { launchBrowser } from '../support/browser.ts';
import { assertForbiddenPage, visitAndLogIn, xhrPost } from '../support/browser-steps.ts';
import { type Caddy, startCaddyRouter } from '../support/caddy.ts';
import {
  djangoTool,
  type Flowergate,
  marker,
  seenUpstream,
  startDjangoSite,
  startFlowergate,
  USERS,
} from '../support/e2e.ts';
import { FAKE_TASK_ID, startFlowerUpstream } from '../support/flower-upstream.ts';
import { freePort, type Teardown } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('caddy', 'tornado', 'chromium', djangoTool());

const BROKER_RULE = {
  name: 'broker page: superusers only',
  methods: ['GET', 'HEAD'],
  path: { prefix: '/broker' },
  require: 'superuser',
} satisfies PolicyRule;

maybe(
  'through the sidecar proxy a browser is sent to the Django login and back, staff meets the 403 page, a superuser gets in, and Flower never sees the session cookie',
  async (t) => {
    const site = await startDjangoSite({ t });
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const { fg, ingress } = await startBehindIngress(t, (origin) => ({
      site,
      configFile: null,
      rules: [BROKER_RULE, ...RULES],
      env: {
        FLOWERGATE_UPSTREAM: flower.url,
        FLOWERGATE_URL_PREFIX: PREFIX,
        FLOWERGATE_ALLOWED_HOSTS: '127.0.0.1,localhost',
        FLOWERGATE_DJANGO_LOGIN_URL: `${origin}/accounts/login/`,
        FLOWERGATE_TRUSTED_PROXIES: '127.0.0.1/32',
        // Django's CSRF cookie is on this host too; Flower has no use for it
        FLOWERGATE_PROXY_STRIP_COOKIES: 'csrftoken',
      },
      t,
    }));
    const loginUrl = `${ingress.url}/accounts/login/`;
    const { page, context } = await launchBrowser({ t });
    page.setDefaultTimeout(15_000);

    const logOut = async () => {
      await page.goto(`${ingress.url}/accounts/logout/`);
      t.is(await page.textContent('p'), 'Not logged in. Log in', "Django's home page, through the ingress");
    };

    // 1. a Flower page without a session: the proxy's 302 to Django's login, `next` the page's public URL;
    // 2. log in as the superuser on Django's form: back on the Flower page, served through the proxy
    const m = marker('proxied');
    const tasks = `${ingress.url}${PREFIX}/tasks?m=${m}`;
    const login = await visitAndLogIn(page, { url: tasks, loginUrl, user: USERS.root });
    t.is(login.searchParams.get('next'), tasks);
    t.is(await page.textContent('h1'), 'Tasks');
    const seen = await seenUpstream(flower, m);
    t.is(seen.length, 1, 'Flower saw the page once: after the login, never before');
    t.is(seen[0]?.headers['x-auth-request-user'], 'root');
    t.is(
      seen[0]?.headers['x-forwarded-host'],
      new URL(ingress.url).host,
      'the public host, from the ingress',
    );
    const cookies = await context.cookies(ingress.url);
    t.true(
      cookies.some((c) => c.name === 'sessionid'),
      'the browser holds the session cookie for the host',
    );
    t.true(
      auditOf(fg).some(
        (line) => line.dialect === 'proxy' && line.user === 'root' && line.decision === 'allow',
      ),
      'the proxy decided it with that cookie',
    );

    // 3. staff on a superuser-only page: the proxy's 403 page names the user and the rule
    await logOut();
    const broker = `${ingress.url}${PREFIX}/broker`;
    await visitAndLogIn(page, { url: broker, loginUrl, user: USERS.staff });
    await assertForbiddenPage(t, page, { user: 'staff', rule: BROKER_RULE.name, needs: 'superuser' });

    // staff may look elsewhere, but a mutating API call from Flower's own page (same-origin XHR) is refused
    await page.goto(`${ingress.url}${PREFIX}/tasks`);
    t.is(await page.textContent('h1'), 'Tasks', 'staff may look');
    const act = marker('proxied-act');
    const revoke = `${PREFIX}/api/task/revoke/${FAKE_TASK_ID}?m=${act}`;
    const refused = await xhrPost(page, revoke);
    t.is(refused.status, 403);
    t.like(JSON.parse(refused.body), { decision: 'forbidden', reason: 'not_superuser', rule: 'default' });
    t.deepEqual(await seenUpstream(flower, act), [], 'the revoke never reached Flower');

    // 4. the superuser gets the same page, and may act
    await logOut();
    await visitAndLogIn(page, { url: broker, loginUrl, user: USERS.root });
    t.is(await page.textContent('h1'), 'Broker');
    const done = await xhrPost(page, revoke);
    t.is(done.status, 200, done.body);
    t.is((await seenUpstream(flower, act)).length, 1, 'the superuser’s revoke reached Flower');

    // 5. everything Flower received, static files and XHRs included: never the session cookie (nor csrftoken)
    const all = await flower.requests();
    t.true(all.length >= 4, `Flower received ${all.length} requests`);
    const leaked = all.filter((r) => /\b(sessionid|csrftoken)=/.test(r.headers.cookie ?? ''));
    t.deepEqual(
      leaked.map((r) => `${r.method} ${r.uri}: ${r.headers.cookie}`),
      [],
      'no Django cookie reached Flower',
    );
  },
);

type AuditLine = { dialect?: string; user?: string; decision?: string };
const auditOf = (fg: Flowergate) => fg.logs().filter((line) => 'decision' in line) as AuditLine[];

/**
 * flowergate (sidecar mode) behind the Caddy ingress on one origin. flowergate needs the ingress's origin for
 * its login URL before the ingress can point at flowergate, so the ingress port is chosen first; if something
 * takes it meanwhile, both start again.
 */
async function startBehindIngress(
  t: Teardown,
  options: (origin: string) => Parameters<typeof startFlowergate>[0],
): Promise<{ fg: Flowergate; ingress: Caddy }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const flowergateOptions = options(`http://127.0.0.1:${port}`);
    const fg = await startFlowergate(flowergateOptions);
    const site = flowergateOptions.site;
    if (!site) throw new Error('startBehindIngress needs the Django site');
    try {
      const ingress = await startCaddyRouter({
        port,
        routes: [{ paths: [PREFIX, `${PREFIX}/*`], upstream: fg.url }],
        fallback: site.url,
        t,
      });
      return { fg, ingress };
    } catch (e) {
      await fg.stop();
      if (attempt >= 4 || !/address already in use/i.test(String(e))) throw e;
    }
  }
}
