// The whole user journey with the real Celery Flower 2.1.0 (../shared/flower), the real Django login and headless
// Chromium, through both topologies — the sidecar proxy, and forward auth behind a real nginx set up as
// ingress-nginx with the README's hygiene recipe — each with and without Flower's --url_prefix. One Redis, one
// Celery worker and two Flowers (prefix '' and 'flower') serve the whole file; so do Django and the browser.
//
// Flower 2.x has no WebSockets (research/flower.md §4): its "live" dashboard polls /workers?json=1 every second,
// so "live updates work" means those polls are answered through the gate.

import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';
import type { PolicyRule } from '../../src/config/schema.ts';
import { launchBrowser } from '../support/browser.ts';
import { logInOnDjango, visitAndLogIn } from '../support/browser-steps.ts';
import {
  djangoTool,
  type FlowergateProcess,
  shared,
  startDjangoSite,
  startFlowergateProcess,
  USERS,
} from '../support/e2e.ts';
import { nginxHygieneRecipe } from '../support/hygiene-recipes.ts';
import { startNginx } from '../support/nginx.ts';
import type { Teardown } from '../support/processes.ts';
import { startPrometheus } from '../support/prometheus.ts';
import { type RealFlowerInstance, realFlowerTool, startRealFlower } from '../support/real-flower.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest('nginx', 'nginx-set-misc', 'chromium', djangoTool(), realFlowerTool);
const withPrometheus = await toolTest('chromium', 'prometheus', djangoTool(), realFlowerTool);

/** Seconds a known user's verdict is cached in these journeys: logout must take effect within it. */
const ALLOW_TTL = 2;

const setup = shared(async (t) => {
  const started = Date.now();
  const [site, flower] = await Promise.all([
    startDjangoSite({ t }),
    startRealFlower({ prefixes: ['', 'flower'], t }),
  ]);
  const browser = await launchBrowser({ t, contextOptions: { viewport: { width: 1100, height: 700 } } });
  browser.page.setDefaultTimeout(20_000);
  // A finished task every journey can open, run through Flower directly (not through any gate).
  const base = flower.instances[0]!.base;
  const applied = await fetch(`${base}/api/task/apply/labapp.add`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ args: [20, 22] }),
  });
  const taskId = ((await applied.json()) as { 'task-id': string })['task-id'];
  // A task that runs for the whole file: its page shows the Terminate button (a revoke with terminate=true).
  const sleeping = await fetch(`${base}/api/task/async-apply/labapp.sleep`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ args: [900] }),
  });
  const runningId = ((await sleeping.json()) as { 'task-id': string })['task-id'];
  for (const instance of flower.instances) await waitForState(instance, runningId, 'STARTED');
  return { site, flower, browser, taskId, runningId, setupMs: Date.now() - started };
});

/** The task's state as Flower knows it from the worker's events. */
async function taskState(instance: RealFlowerInstance, id: string): Promise<string | undefined> {
  const res = await fetch(`${instance.base}/api/task/info/${id}`);
  return res.ok ? ((await res.json()) as { state?: string }).state : undefined;
}

async function waitForState(instance: RealFlowerInstance, id: string, state: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await taskState(instance, id)) === state) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`task ${id} did not reach ${state} in Flower at ${instance.base}`);
}

type Topology = 'sidecar' | 'nginx';

/** A user rule before the preset: the broker page stays with superusers, so staff meet the refusal page. */
const BROKER_RULE: PolicyRule = {
  name: 'broker page: superusers only',
  methods: ['GET', 'HEAD'],
  path: { exact: '/broker' },
  require: 'superuser',
};

interface Gate {
  /** Where the browser goes: the proxy's origin plus Flower's prefix. */
  entry: string;
  fg: FlowergateProcess;
}

async function startGate(topology: Topology, flower: RealFlowerInstance, t: Teardown): Promise<Gate> {
  const { site } = await setup();
  const common = {
    FLOWERGATE_POLICY_PRESET: 'flower-read-only-staff',
    FLOWERGATE_URL_PREFIX: flower.prefix,
    FLOWERGATE_ALLOWED_HOSTS: '127.0.0.1',
    FLOWERGATE_CACHE_ALLOW_TTL: String(ALLOW_TTL),
    FLOWERGATE_DJANGO_LOGOUT_URL: `${site.url}/accounts/logout/`,
  };
  if (topology === 'sidecar') {
    const fg = await startFlowergateProcess({
      site,
      configFile: null,
      rules: [BROKER_RULE],
      env: { ...common, FLOWERGATE_UPSTREAM: flower.url },
      t,
    });
    return { entry: `${fg.url}${flower.prefix}`, fg };
  }
  const fg = await startFlowergateProcess({ site, configFile: null, rules: [BROKER_RULE], env: common, t });
  const recipe = nginxHygieneRecipe(fg.address);
  const nginx = await startNginx({
    authUrl: `${fg.url}/_flowergate/auth/nginx`,
    upstream: flower.url,
    signinUrl: `${fg.url}/_flowergate/sign_in`,
    signinRedirectParam: 'rd',
    locationPath: `${flower.prefix}/`,
    snippets: { server: recipe.server, location: recipe.location },
    t,
  });
  return { entry: `${nginx.url}${flower.prefix}`, fg };
}

/** Screenshots for docs/: taken only when FLOWERGATE_TEST_SCREENSHOTS names a directory (e.g. `docs`). */
async function screenshot(t: ExecutionContext, page: Page, name: string): Promise<void> {
  const dir = process.env.FLOWERGATE_TEST_SCREENSHOTS;
  if (!dir) return;
  await page.screenshot({ path: join(dir, name) });
  t.log(`screenshot: ${join(dir, name)}`);
}

/** Flower's workers dashboard polls `workers?json=1`; two answered polls with the worker in them. */
async function dashboardIsLive(t: ExecutionContext, page: Page, entry: string, worker: string) {
  const polls: number[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/workers?json=1')) polls.push(r.status());
  });
  await page.goto(`${entry}/`);
  await page.waitForSelector(`#workers-table >> text=${worker}`);
  await page.waitForFunction(
    `document.querySelector('#workers-refresh-status')?.textContent !== 'Connecting…'`,
  );
  for (let i = 0; polls.length < 2 && i < 100; i++) await page.waitForTimeout(100);
  t.true(polls.length >= 2, `the dashboard polled: ${polls.join(',')}`);
  t.true(
    polls.every((s) => s === 200),
    `every poll answered through the gate: ${polls.join(',')}`,
  );
}

for (const topology of ['sidecar', 'nginx'] as const) {
  for (const prefixIndex of [0, 1]) {
    const label = `${topology}, ${prefixIndex === 0 ? 'no --url_prefix' : '--url_prefix=flower'}`;

    maybe.serial(
      `${label}: a superuser signs in on Django, lands on the Flower page asked for, and uses tasks, a task page and the live dashboard`,
      async (t) => {
        const { site, flower, browser, taskId } = await setup();
        const { page, context } = browser;
        await context.clearCookies();
        const { entry } = await startGate(topology, flower.instances[prefixIndex]!, t);

        const asked = `${entry}/tasks?sort=received`;
        const table = page.waitForResponse(
          (r) => r.url().includes('/tasks/datatable') && r.request().method() === 'POST',
        );
        const login = await visitAndLogIn(page, { url: asked, loginUrl: site.loginUrl, user: USERS.root });
        t.is(page.url(), asked, 'back on the very Flower page it asked for');
        t.is(new URL(login.searchParams.get('next') ?? '').href, asked, 'Django was given the page as next');
        t.is((await table).status(), 200, 'the tasks table reads with POST /tasks/datatable');
        await page.waitForSelector(`#tasks-table >> text=${taskId}`);

        await page.goto(`${entry}/task/${taskId}`);
        t.is(await page.textContent('#taskid'), taskId);
        t.truthy(await page.$('text=labapp.add'));

        await dashboardIsLive(t, page, entry, flower.worker);
        if (topology === 'sidecar' && prefixIndex === 1)
          await screenshot(t, page, 'flower-dashboard-through-flowergate.png');
      },
    );

    maybe.serial(
      `${label}: staff read every page under flower-read-only-staff, and are refused when pressing revoke or shutdown`,
      async (t) => {
        const { site, flower, browser, runningId } = await setup();
        const { page, context } = browser;
        await context.clearCookies();
        const instance = flower.instances[prefixIndex]!;
        const { entry, fg } = await startGate(topology, instance, t);

        await visitAndLogIn(page, { url: `${entry}/`, loginUrl: site.loginUrl, user: USERS.staff });
        await page.waitForSelector(`#workers-table >> text=${flower.worker}`);

        // Terminate on a running task: Flower's UI sends POST /api/task/revoke/<id> with terminate=true.
        await page.goto(`${entry}/task/${runningId}`);
        const [revoke] = await Promise.all([
          page.waitForResponse((r) => r.url().includes('/api/task/revoke/')),
          page.click('#task-terminate'),
        ]);
        t.is(revoke.status(), 403);
        const toast = await page.waitForSelector('.toast-body');
        t.regex(
          (await toast.textContent()) ?? '',
          /flowergate refused this request: not_superuser \(rule “flower-read-only-staff: act POST” needs superuser\)/,
          'Flower shows flowergate’s reason in its alert',
        );
        t.is(
          await taskState(instance, runningId),
          'STARTED',
          'the task still runs: the revoke never reached Flower',
        );

        await page.goto(`${entry}/worker/${encodeURIComponent(flower.worker)}`);
        await page.click('#worker-group');
        const [shutdown] = await Promise.all([
          page.waitForResponse((r) => r.url().includes('/api/worker/shutdown/')),
          page.click('#worker-shutdown'),
        ]);
        t.is(shutdown.status(), 403);
        const status = (await (await fetch(`${instance.base}/api/workers?status=1`)).json()) as Record<
          string,
          boolean
        >;
        t.true(status[flower.worker], 'the worker is still up: the shutdown never reached Flower');

        // A page a user rule keeps from staff: flowergate's own refusal page, with the way out.
        await page.goto(`${entry}/broker`);
        t.is(await page.textContent('h1'), '403 Forbidden');
        const text = (await page.textContent('body')) ?? '';
        t.regex(text, /signed in as staff/);
        t.regex(text, /rule broker page: superusers only/);
        if (topology === 'sidecar' && prefixIndex === 1)
          await screenshot(t, page, 'flowergate-refusal-page.png');
        t.is(await page.getAttribute('text=Log out', 'href'), `${site.url}/accounts/logout/`);
        // The way out: sign in as someone who may, and land back on the same page.
        await page.click('text=Sign in as another user');
        await page.waitForURL((url) => url.href.startsWith(site.loginUrl));
        await logInOnDjango(page, USERS.root);
        await page.waitForURL(`${entry}/broker`);
        t.truthy(
          await page.waitForSelector('section.broker-table-card'),
          "Flower's broker page, now allowed",
        );
        const audit = fg.logs().filter((l) => l.decision === 'forbidden');
        t.true(
          audit.some((l) => l.reason === 'not_superuser'),
          'the refusals are in the audit log',
        );
      },
    );
  }
}

maybe.serial('a logout in Django takes effect within the verdict cache lifetime', async (t) => {
  const { site, flower, browser } = await setup();
  const { page, context } = browser;
  await context.clearCookies();
  const { entry } = await startGate('sidecar', flower.instances[1]!, t);
  await visitAndLogIn(page, { url: `${entry}/tasks`, loginUrl: site.loginUrl, user: USERS.root });
  // Once (1 of ~6 runs, quiet machine) this page took over 20 s: keep Django's request log for the next time.
  await page.goto(`${site.url}/accounts/logout/`).catch((error: unknown) => {
    t.log(`django runserver, last lines:\n${site.log().split('\n').slice(-40).join('\n')}`);
    throw error;
  });
  // The verdict cached before the logout lives ALLOW_TTL seconds at most; after that the session is looked up.
  await page.waitForTimeout(ALLOW_TTL * 1000 + 200);
  await page.goto(`${entry}/tasks`);
  await page.waitForURL((url) => url.href.startsWith(site.loginUrl));
  t.true(
    page.url().startsWith(site.loginUrl),
    `after the logout, ${entry}/tasks sent the browser to ${page.url()}`,
  );
});

maybe.serial('the sign-in page a browser meets first (screenshot for the docs)', async (t) => {
  const { site, flower, browser } = await setup();
  const { page, context } = browser;
  await context.clearCookies();
  const { entry } = await startGate('sidecar', flower.instances[1]!, t);
  await page.goto(`${entry}/`);
  await page.waitForURL((url) => url.href.startsWith(site.loginUrl));
  t.truthy(await page.$('#id_username'));
  await screenshot(t, page, 'sign-in-through-flowergate.png');
});

withPrometheus.serial(
  "Prometheus scraping the admin port sees the journey's allows and refusals",
  async (t) => {
    const { site, flower, browser, runningId } = await setup();
    const { page, context } = browser;
    await context.clearCookies();
    const { entry, fg } = await startGate('sidecar', flower.instances[1]!, t);
    const prometheus = await startPrometheus({ targets: [new URL(fg.adminUrl).host], t });

    await visitAndLogIn(page, {
      url: `${entry}/task/${runningId}`,
      loginUrl: site.loginUrl,
      user: USERS.staff,
    });
    const [revoke] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/task/revoke/')),
      page.click('#task-terminate'),
    ]);
    t.is(revoke.status(), 403);

    const counts = async () =>
      Object.fromEntries(
        (
          await prometheus.query(
            'sum by (decision, reason) (flowergate_auth_decisions_total{dialect="proxy"})',
            (samples) => samples.some((s) => s.metric.reason === 'not_superuser'),
          )
        ).map((s) => [`${s.metric.decision}/${s.metric.reason}`, Number(s.value[1])]),
      );
    const seen = await counts();
    t.true(
      seen['unauthenticated/no_cookie']! >= 1,
      `the first visit, before the login: ${JSON.stringify(seen)}`,
    );
    t.true(seen['allow/ok']! >= 1, 'the task page and its assets');
    t.is(seen['forbidden/not_superuser'], 1, 'the one terminate press');
  },
);
