// Steps the browser tests take on a page, whichever proxy is in front: Django's login form, flowergate's 403
// page, and a same-origin XHR as Flower's own buttons send it.
//
//   await logInOnDjango(page, USERS.root);
//   await visitAndLogIn(page, { url: `${proxy}/broker`, loginUrl: site.loginUrl, user: USERS.staff });
//   await assertForbiddenPage(t, page, { user: 'staff', rule: 'broker page: superusers only', needs: 'superuser' });

import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import { makeTempDir } from './processes.ts';

/** Fills and submits the test project's login form (templates/registration/login.html, Django's LoginView). */
export async function logInOnDjango(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.fill('#id_username', user.username);
  await page.fill('#id_password', user.password);
  await page.click('#login');
}

/**
 * Opens `url` without a session, expects to land on the Django login at `loginUrl`, logs in as `user` and
 * waits until Django has sent the browser back to `url`. Returns the login page's URL (to check `next`).
 */
export async function visitAndLogIn(
  page: Page,
  options: { url: string; loginUrl: string; user: { username: string; password: string } },
): Promise<URL> {
  await page.goto(options.url);
  await page.waitForURL((url) => url.href.startsWith(options.loginUrl));
  const login = new URL(page.url());
  await logInOnDjango(page, options.user);
  await page.waitForURL(options.url);
  return login;
}

/** The page is flowergate's 403 page naming the user, the rule and what it needs; a screenshot is kept. */
export async function assertForbiddenPage(
  t: ExecutionContext,
  page: Page,
  expected: { user: string; rule: string; needs: string },
): Promise<void> {
  t.is(await page.textContent('h1'), '403 Forbidden');
  const text = (await page.textContent('body')) ?? '';
  t.true(text.includes(`signed in as ${expected.user}`), text);
  t.true(text.includes(`rule ${expected.rule}`), text);
  t.regex(text, new RegExp(`needs\\s+${expected.needs}`));
  const shot = join(makeTempDir('e2e-screenshot'), 'flowergate-403.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.log(`screenshot of the 403 page: ${shot}`);
}

/** A POST from the page's own origin with `X-Requested-With`, as Flower's UI sends its actions. */
export function xhrPost(page: Page, url: string): Promise<{ status: number; body: string }> {
  return page.evaluate(async (target) => {
    const res = await fetch(target, { method: 'POST', headers: { 'X-Requested-With': 'XMLHttpRequest' } });
    return { status: res.status, body: await res.text() };
  }, url);
}
