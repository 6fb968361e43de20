import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type CheckOptions, runCheck } from '../../src/check/check-command.ts';
import { djangoTool, shared, startDjangoSite } from '../support/e2e.ts';
import { toolTest } from '../support/require-tool.ts';

// `flowergate check` judges an unsafe method as the service does: after the policy, the CSRF guard, from the
// Origin (else Referer) a browser would send. Real Django sessions from the test project's login.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const maybe = await toolTest(djangoTool());
const setup = shared(async (t) => {
  const site = await startDjangoSite({ t });
  return { site, root: await site.cookie('root') };
});

async function check(options: Partial<CheckOptions>, env: Record<string, string> = {}) {
  const { site, root } = await setup();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (chunk) => (out += chunk));
  const code = await runCheck(
    { cookieHeaders: [root], ...options },
    { env: { ...site.flowergateEnv, ...env }, stdin: new PassThrough(), stdout, stderr },
  );
  return { code, line: JSON.parse(out) as Record<string, unknown> };
}

const revoke = { method: 'POST', path: '/api/task/revoke/1', host: 'flower.example.com' };

maybe(
  "a superuser's POST from the page's own origin is allowed; from another origin it is a CSRF refusal",
  async (t) => {
    const same = await check({ ...revoke, origin: 'https://flower.example.com' });
    t.is(same.code, 0);
    t.like(same.line, { username: 'root', allowed: true, reason: 'ok' });

    const evil = await check({ ...revoke, origin: 'https://evil.example' });
    t.is(evil.code, 1);
    t.like(evil.line, {
      username: 'root',
      allowed: false,
      decision: 'forbidden',
      reason: 'csrf_origin_mismatch',
    });

    const none = await check(revoke);
    t.like(
      none.line,
      { allowed: false, reason: 'csrf_origin_mismatch' },
      'a POST with neither header is refused',
    );
    const nullOrigin = await check({
      ...revoke,
      origin: 'null',
      referer: 'https://flower.example.com/tasks',
    });
    t.like(
      nullOrigin.line,
      { allowed: false, reason: 'csrf_origin_mismatch' },
      'Origin: null never falls back',
    );
  },
);

maybe(
  'Referer stands in for a missing Origin; --scheme and trusted origins count as the service counts them',
  async (t) => {
    t.like((await check({ ...revoke, referer: 'https://flower.example.com/task/1' })).line, {
      allowed: true,
    });
    t.like((await check({ ...revoke, origin: 'http://flower.example.com' })).line, {
      reason: 'csrf_origin_mismatch',
    });
    t.like((await check({ ...revoke, scheme: 'http', origin: 'http://flower.example.com' })).line, {
      allowed: true,
    });
    const trusted = { FLOWERGATE_POLICY_TRUSTED_ORIGINS: 'https://ops.example.com' };
    t.like((await check({ ...revoke, origin: 'https://ops.example.com' }, trusted)).line, { allowed: true });
    t.like(
      (await check({ ...revoke, origin: 'https://evil.example' }, { FLOWERGATE_POLICY_CSRF_GUARD: 'false' }))
        .line,
      {
        allowed: true,
      },
    );
    // A GET is never held to the guard.
    t.like((await check({ method: 'GET', path: '/tasks', origin: 'https://evil.example' })).line, {
      allowed: true,
    });
  },
);

maybe('the command line takes --origin and --referer', async (t) => {
  const { site, root } = await setup();
  const run = (extra: string[]) =>
    promisify(execFile)(
      process.execPath,
      [
        'src/cli.ts',
        'check',
        '--method',
        'POST',
        '--path',
        '/api/x',
        '--host',
        'h.example',
        '--cookie-header',
        root,
        ...extra,
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...site.flowergateEnv } },
    ).then(
      (r) => ({ code: 0, line: JSON.parse(r.stdout) }),
      (e) => ({ code: e.code as number, line: JSON.parse(e.stdout) }),
    );
  t.like(await run(['--origin', 'https://h.example']), { code: 0, line: { allowed: true } });
  t.like(await run(['--referer', 'https://other.example/']), {
    code: 1,
    line: { reason: 'csrf_origin_mismatch' },
  });
});

maybe(
  '--path is the path as the browser sends it: the URL prefix is removed before rules match; an ambiguous or outside path exits 2',
  async (t) => {
    const env = {
      FLOWERGATE_URL_PREFIX: 'flower',
      FLOWERGATE_POLICY_RULES: JSON.stringify([{ path: { exact: '/healthcheck' }, require: 'public' }]),
    };
    t.like((await check({ path: '/flower/healthcheck' }, env)).line, { allowed: true, reason: 'public' });
    t.like((await check({ path: '/flower/tasks' }, env)).line, { allowed: true, reason: 'ok' });
    t.like(
      (await check({}, env)).line,
      { allowed: true, reason: 'ok' },
      'the default is the dashboard, /flower/',
    );

    const { site, root } = await setup();
    for (const [path, why] of [
      ['/healthcheck', /outside the URL prefix \/flower/],
      ['/flower/tasks/../healthcheck', /ambiguous \(a \. or \.\. segment\)/],
      ['/flower//healthcheck', /ambiguous/],
    ] as const) {
      let err = '';
      const stderr = new PassThrough();
      stderr.on('data', (chunk) => (err += chunk));
      const code = await runCheck(
        { cookieHeaders: [root], path },
        {
          env: { ...site.flowergateEnv, ...env },
          stdin: new PassThrough(),
          stdout: new PassThrough(),
          stderr,
        },
      );
      t.is(code, 2, path);
      t.regex(err, why, path);
    }
  },
);
