// The whole browser flow with a real Chromium (playwright-core): Caddy `forward_auth` → flowergate → the
// Tornado Flower stand-in, and the real Django login page served by Django's own `runserver` on another port.
// Cookies are per host, not per port, so the `sessionid` Django sets on 127.0.0.1:<django> is sent to Caddy on
// 127.0.0.1:<caddy> as well, exactly as a shared parent domain works in production.

import { launchBrowser } from '../support/browser.ts';
import { assertForbiddenPage, visitAndLogIn, xhrPost } from '../support/browser-steps.ts';
import { startCaddy } from '../support/caddy.ts';
import {
  djangoTool,
  EXAMPLE_RULES,
  marker,
  seenUpstream,
  startDjangoSite,
  startFlowergate,
  USERS,
} from '../support/e2e.ts';
import { FAKE_TASK_ID, startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('caddy', 'tornado', 'chromium', djangoTool());

maybe(
  'a browser is sent to the real Django login, comes back as superuser, and as staff meets the 403 page',
  async (t) => {
    const site = await startDjangoSite({ t });
    const flower = await startFlowerUpstream({ t });
    const fg = await startFlowergate({
      site,
      rules: [
        {
          name: 'broker page: superusers only',
          methods: ['GET', 'HEAD'],
          path: { prefix: '/broker' },
          require: 'superuser',
        },
        ...EXAMPLE_RULES,
      ],
      t,
    });
    const caddy = await startCaddy({ auth: fg.address, upstream: flower.url, t });
    const { page, context } = await launchBrowser({ t });
    page.setDefaultTimeout(15_000);

    // 1. a protected page without a session: flowergate's 302 to Django's own login page, with `next`;
    // 2. log in as the superuser: Django sends the browser back, and the page is Flower's
    const m = marker('browser');
    const tasks = `${caddy.url}/tasks?m=${m}`;
    const login = await visitAndLogIn(page, { url: tasks, loginUrl: site.loginUrl, user: USERS.root });
    t.is(login.searchParams.get('next'), tasks);
    t.is(await page.textContent('h1'), 'Tasks');
    const seen = await seenUpstream(flower, m);
    t.is(seen.length, 1, 'Flower saw the page once: after the login, never before');
    t.is(seen[0]?.headers['x-auth-request-user'], 'root');
    const cookies = await context.cookies(caddy.url);
    t.true(
      cookies.some((c) => c.name === 'sessionid' && c.domain === '127.0.0.1'),
      "Django's cookie (set on another port) is the one sent through Caddy",
    );

    // 3. log out in Django; the next protected page is the login again (verdict cache off in these tests)
    // 4. log in as staff on a superuser-only page: flowergate's 403 page names the user and the rule
    await page.goto(`${site.url}/accounts/logout/`);
    await visitAndLogIn(page, { url: `${caddy.url}/broker`, loginUrl: site.loginUrl, user: USERS.staff });
    await assertForbiddenPage(t, page, {
      user: 'staff',
      rule: 'broker page: superusers only',
      needs: 'superuser',
    });

    // 5. staff on a mutating action, as Flower's own pages send it (same-origin XHR): a 403 JSON, no action
    await page.goto(`${caddy.url}/tasks`);
    t.is(await page.textContent('h1'), 'Tasks', 'staff may look');
    const act = marker('browser-act');
    const answer = await xhrPost(page, `/api/task/revoke/${FAKE_TASK_ID}?m=${act}`);
    t.is(answer.status, 403);
    t.like(JSON.parse(answer.body), { decision: 'forbidden', reason: 'not_superuser', rule: 'default' });
    t.deepEqual(await seenUpstream(flower, act), [], 'the revoke never reached Flower');
  },
);
