// The whole browser flow with a real Chromium (playwright-core): Caddy `forward_auth` → flowergate → the
// Tornado Flower stand-in, and the real Django login page served by Django's own `runserver` on another port.
// Cookies are per host, not per port, so the `sessionid` Django sets on 127.0.0.1:<django> is sent to Caddy on
// 127.0.0.1:<caddy> as well, exactly as a shared parent domain works in production.

import { join } from 'node:path';
import { launchBrowser } from '../support/browser.ts';
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
import { makeTempDir } from '../support/processes.ts';
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

    const logIn = async (username: 'root' | 'staff') => {
      await page.fill('#id_username', username);
      await page.fill('#id_password', USERS[username].password);
      await page.click('#login');
    };

    // 1. a protected page without a session: flowergate's 302 to Django's own login page
    const m = marker('browser');
    const tasks = `${caddy.url}/tasks?m=${m}`;
    await page.goto(tasks);
    await page.waitForURL((url) => url.href.startsWith(site.loginUrl));
    t.is(new URL(page.url()).searchParams.get('next'), tasks);
    t.is(await page.textContent('h1'), 'Log in');
    t.deepEqual(await seenUpstream(flower, m), [], 'Flower saw nothing before the login');

    // 2. log in as the superuser: Django sends the browser back, and the page is Flower's
    await logIn('root');
    await page.waitForURL(tasks);
    t.is(await page.textContent('h1'), 'Tasks');
    t.is((await seenUpstream(flower, m))[0]?.headers['x-auth-request-user'], 'root');
    const cookies = await context.cookies(caddy.url);
    t.true(
      cookies.some((c) => c.name === 'sessionid' && c.domain === '127.0.0.1'),
      "Django's cookie (set on another port) is the one sent through Caddy",
    );

    // 3. log out in Django; the next protected page is the login again (verdict cache off in these tests)
    await page.goto(`${site.url}/accounts/logout/`);
    const broker = `${caddy.url}/broker`;
    await page.goto(broker);
    await page.waitForURL((url) => url.href.startsWith(site.loginUrl));

    // 4. log in as staff on a superuser-only page: flowergate's 403 page names the user and the rule
    await logIn('staff');
    await page.waitForURL(broker);
    t.is(await page.textContent('h1'), '403 Forbidden');
    const text = (await page.textContent('body')) ?? '';
    t.regex(text, /signed in as staff/);
    t.regex(text, /rule broker page: superusers only/);
    t.regex(text, /needs\s+superuser/);
    const shot = join(makeTempDir('e2e-screenshot'), 'flowergate-403.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.log(`screenshot of the 403 page: ${shot}`);

    // 5. staff on a mutating action, as Flower's own pages send it (same-origin XHR): a 403 JSON, no action
    await page.goto(`${caddy.url}/tasks`);
    t.is(await page.textContent('h1'), 'Tasks', 'staff may look');
    const act = marker('browser-act');
    const answer = await page.evaluate(async (url) => {
      const res = await fetch(url, { method: 'POST', headers: { 'X-Requested-With': 'XMLHttpRequest' } });
      return { status: res.status, body: await res.json() };
    }, `/api/task/revoke/${FAKE_TASK_ID}?m=${act}`);
    t.is(answer.status, 403);
    t.like(answer.body, { decision: 'forbidden', reason: 'not_superuser', rule: 'default' });
    t.deepEqual(await seenUpstream(flower, act), [], 'the revoke never reached Flower');
  },
);
