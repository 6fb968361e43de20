import { existsSync } from 'node:fs';
import { launchBrowser } from '../support/browser.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('chromium', 'tornado');

maybe(
  'Chromium loads the fake Flower dashboard: HTML, static JS and its XHR, all under the prefix',
  async (t) => {
    const flower = await startFlowerUpstream({ prefix: 'flower', t });
    const browser = await launchBrowser({ t });
    t.true(existsSync(browser.profileDir));

    const res = await browser.page.goto(`${flower.base}/`);
    t.is(res?.status(), 200);
    await browser.page.waitForSelector('body[data-workers-loaded="1"]', { timeout: 10_000 });
    t.is(await browser.page.textContent('#workers-table tbody td'), 'w1@host');

    const paths = (await flower.requests()).map((r) => r.path);
    t.true(paths.includes('/flower/'));
    t.true(paths.includes('/flower/static/js/flower.js'));
    t.true(paths.includes('/flower/workers'));

    await browser.close();
    await browser.close();
    t.false(existsSync(browser.profileDir), 'close() removes the profile dir');
  },
);
