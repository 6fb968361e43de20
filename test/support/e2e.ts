// Shared setup for the end-to-end tests under test/e2e/: a real Django site (the test project in
// test/support/django/project, served by Django's own `runserver`) that owns the SQLite database and makes the
// sessions, and flowergate reading that same database, either in-process (createApp, as src/serve.ts wires it)
// or as a child process (`node src/cli.ts serve`).
//
//   const site = await startDjangoSite({ t });              // migrate, users root/staff/plain, runserver
//   const cookie = await site.cookie('root');               // 'sessionid=…' from a real login through the form
//   const fg = await startFlowergate({ site, t });          // examples/flower-policy.yaml, loginUrl = site's
//   await request(`${fg.url}/_flowergate/whoami`, { headers: { cookie } });
//
// Every server binds 127.0.0.1 on a free port; everything is stopped and its temp dir removed in teardown.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { PolicyRule } from '../../src/config/schema.ts';
import { openDatabase } from '../../src/django/database/open-database.ts';
import { configSecrets } from '../../src/log/config-summary.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createSidecarProxy } from '../../src/proxy/sidecar.ts';
import { type FlowerUpstream, PYTHON, type RecordedRequest } from './flower-upstream.ts';
import {
  freePort,
  type ManagedProcess,
  MissingToolError,
  makeTempDir,
  probe,
  removeDir,
  startProcess,
  type Teardown,
} from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT = join(ROOT, 'test/support/django/project');
export const EXAMPLE_POLICY = join(ROOT, 'examples/flower-policy.yaml');

/** The rules of examples/flower-policy.yaml, to build test policies on top of the shipped one. */
export const EXAMPLE_RULES: readonly PolicyRule[] = (
  parseYaml(readFileSync(EXAMPLE_POLICY, 'utf8')) as { policy: { rules: PolicyRule[] } }
).policy.rules;

// ---- plain HTTP ------------------------------------------------------------------------------------------

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  /** Sent as given, Host included (fetch would not let a test send `Host: evil.example`). */
  headers?: Record<string, string | string[]>;
  body?: string;
  /** Local address to connect from, e.g. '127.0.0.66' to look like another client on loopback. */
  localAddress?: string;
  /** The request-target sent verbatim instead of the URL's (whose parsing resolves `..` and `%2e`). */
  target?: string;
}

/** One HTTP/1.1 request on a fresh connection; redirects are not followed. */
export function request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: options.target ?? `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: {
          ...(options.body !== undefined
            ? { 'content-length': String(Buffer.byteLength(options.body)) }
            : {}),
          ...options.headers,
        },
        agent: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${options.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The value of one cookie from a response's Set-Cookie headers, or undefined. */
export function setCookie(response: HttpResponse, name: string): string | undefined {
  for (const line of response.headers['set-cookie'] ?? []) {
    const [pair] = line.split(';');
    const eq = pair?.indexOf('=') ?? -1;
    if (pair && eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

// ---- a real Django site ----------------------------------------------------------------------------------

export interface SiteUser {
  username: string;
  password: string;
  email?: string;
  is_superuser?: boolean;
  is_staff?: boolean;
  is_active?: boolean;
  groups?: string[];
}

/** The users every e2e site has (pk 1, 2, 3 in this order; DjangoSiteOptions.users come after them). */
export const USERS = {
  root: {
    username: 'root',
    password: 'root-pass-4cT9',
    email: 'root@example.com',
    is_superuser: true,
    is_staff: true,
    groups: ['flower-admins', 'ops'],
  },
  staff: { username: 'staff', password: 'staff-pass-7qW2', email: 'staff@example.com', is_staff: true },
  plain: { username: 'plain', password: 'plain-pass-2zR8' },
} as const satisfies Record<string, SiteUser>;

export type UserName = keyof typeof USERS;

export interface LoginResult {
  /** The `sessionid` Django set. */
  sessionid: string;
  /** `sessionid=<value>`, ready for a Cookie header. */
  cookie: string;
  /** Where Django sent the browser after the login (the checked `next`, or LOGIN_REDIRECT_URL). */
  location: string;
}

export interface DjangoSite {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** `${url}/accounts/login/`: Django's LoginView. */
  loginUrl: string;
  dbPath: string;
  secretKey: string;
  /** `3.2` (Debian's python3-django) or `5.2` (.cache/django/5.2). */
  series: string;
  /** The FLOWERGATE_DJANGO_* settings that make flowergate read this site's sessions. */
  flowergateEnv: Record<string, string>;
  /** Logs in through the real login form (GET for the CSRF token, then POST), like a browser would. */
  login(username: UserName | (string & {}), options?: { next?: string }): Promise<LoginResult>;
  /** A Cookie header for a logged-in session of this user (one login per user, then reused). */
  cookie(username: UserName | (string & {})): Promise<string>;
  /** Django's own stderr (runserver's request log). */
  log(): string;
  stop(): Promise<void>;
}

export interface DjangoSiteOptions {
  /** Django series; default '3.2' (Debian's python3-django), '5.2' needs `scripts/django/fetch.sh 5.2`. */
  series?: '3.2' | '5.2';
  /** More users, made by the same management command (Django's ORM, no validators), after USERS. */
  users?: readonly SiteUser[];
  t?: Teardown;
}

const djangoPath = (series: string) => join(ROOT, `.cache/django/${series}/usr/lib/python3/dist-packages`);

/** For toolTest(): Debian's python3 with Django (and, for 5.2, the unpacked .cache copy). */
export const djangoTool = (series: '3.2' | '5.2' = '3.2') => ({
  name: `Django ${series}`,
  check: () => {
    if (!existsSync(PYTHON)) throw new MissingToolError(PYTHON, 'python3 python3-django');
    if (series !== '3.2' && !existsSync(djangoPath(series)))
      throw new MissingToolError(
        `Django ${series}`,
        'python3-django',
        `run scripts/django/fetch.sh ${series}`,
      );
    const env = series === '3.2' ? {} : { PYTHONPATH: djangoPath(series) };
    const r = probe('/usr/bin/env', [
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      PYTHON,
      '-c',
      'import django; print(django.get_version())',
    ]);
    if (r.status !== 0 || !r.output.startsWith(series))
      throw new MissingToolError(`Django ${series} for ${PYTHON}`, 'python3-django', r.output.trim());
  },
});

export async function startDjangoSite(options: DjangoSiteOptions = {}): Promise<DjangoSite> {
  const series = options.series ?? '3.2';
  const dir = makeTempDir('django-site');
  const dbPath = join(dir, 'db.sqlite3');
  const secretKey = `e2e-${Math.random().toString(36).slice(2)}-django-insecure-key-for-tests-only`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONDONTWRITEBYTECODE: '1', // nothing written into the repository's test project
    PYTHONUNBUFFERED: '1',
    FLOWERGATE_DJANGO_SECRET_KEY: secretKey,
    FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${dbPath}`,
    ...(series === '3.2' ? {} : { PYTHONPATH: djangoPath(series) }),
  };
  const manage = (args: string[], input?: string) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile(
        PYTHON,
        ['manage.py', ...args],
        { cwd: PROJECT, env, timeout: 60_000 },
        (error, stdout, stderr) =>
          error
            ? reject(new Error(`manage.py ${args.join(' ')}: ${error.message}\n${stderr}`))
            : resolve(stdout),
      );
      child.stdin?.end(input);
    });

  let proc: ManagedProcess | undefined;
  let port = 0;
  try {
    await manage(['migrate', '-v0']);
    // \u escapes: the spec reaches Python's stdin as ASCII whatever the locale's encoding
    const spec = JSON.stringify({ users: [...Object.values(USERS), ...(options.users ?? [])] });
    await manage(
      ['fg_users', '-'],
      spec.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    );
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        proc = await startProcess(PYTHON, ['manage.py', 'runserver', `127.0.0.1:${port}`, '--noreload'], {
          name: 'django runserver',
          cwd: PROJECT,
          env,
          readyPort: port,
          removeOnOrphan: [dir],
          timeoutMs: 20_000,
        });
        break;
      } catch (e) {
        if (attempt >= 4 || !/already in use/i.test(String(e))) throw e;
      }
    }
  } catch (e) {
    removeDir(dir);
    throw e;
  }
  const url = `http://127.0.0.1:${port}`;
  const loginUrl = `${url}/accounts/login/`;
  const running = proc;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= running.stop().finally(() => removeDir(dir));
    return stopping;
  };
  options.t?.teardown(stop);

  const passwords = new Map<string, string>(
    [...Object.values(USERS), ...(options.users ?? [])].map((u) => [u.username, u.password]),
  );
  const login = async (username: string, opts: { next?: string } = {}): Promise<LoginResult> => {
    const password = passwords.get(username);
    if (password === undefined) throw new Error(`no user ${JSON.stringify(username)} on this site`);
    const query = opts.next !== undefined ? `?next=${encodeURIComponent(opts.next)}` : '';
    const form = await request(`${loginUrl}${query}`);
    const csrf = setCookie(form, 'csrftoken');
    const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(form.body)?.[1];
    if (form.status !== 200 || !csrf || !token)
      throw new Error(`GET ${loginUrl}: ${form.status}, no CSRF token\n${form.body.slice(0, 500)}`);
    const body = new URLSearchParams({
      csrfmiddlewaretoken: token,
      username,
      password,
      next: opts.next ?? '',
    }).toString();
    const res = await request(`${loginUrl}${query}`, {
      method: 'POST',
      headers: {
        cookie: `csrftoken=${csrf}`,
        'content-type': 'application/x-www-form-urlencoded',
        origin: url,
        referer: `${loginUrl}${query}`,
      },
      body,
    });
    const sessionid = setCookie(res, 'sessionid');
    if (res.status !== 302 || !sessionid)
      throw new Error(`POST ${loginUrl} as ${username}: ${res.status}\n${res.body.slice(0, 500)}`);
    return { sessionid, cookie: `sessionid=${sessionid}`, location: String(res.headers.location) };
  };
  const cookies = new Map<string, Promise<string>>();

  return {
    url,
    port,
    loginUrl,
    dbPath,
    secretKey,
    series,
    flowergateEnv: {
      FLOWERGATE_DJANGO_SECRET_KEY: secretKey,
      FLOWERGATE_DJANGO_DATABASE_URL: `sqlite:///${dbPath}`,
      FLOWERGATE_DJANGO_VERSION: series,
    },
    login,
    cookie(username) {
      let cookie = cookies.get(username);
      if (!cookie) {
        cookie = login(username).then((r) => r.cookie);
        cookies.set(username, cookie);
      }
      return cookie;
    },
    log: () => running.stderr(),
    stop,
  };
}

// ---- flowergate ------------------------------------------------------------------------------------------

export interface Flowergate {
  /** `http://127.0.0.1:<port>` of the main port. */
  url: string;
  port: number;
  /** `127.0.0.1:<port>`, for proxies' auth address. */
  address: string;
  /** Parsed JSON log lines so far (audit lines carry `decision`, `reason`, `user`, `client`). */
  logs(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/** flowergate in this process: the app itself, and the registry its metrics are in. */
export interface FlowergateInProcess extends Flowergate {
  app: App;
  registry: Registry;
}

/** `node src/cli.ts serve`: the child process, and the admin port it listens on. */
export interface FlowergateProcess extends Flowergate {
  /** `http://127.0.0.1:<admin port>` (`/metrics`, `/healthz`, `/readyz`). */
  adminUrl: string;
  proc: ManagedProcess;
}

export interface FlowergateOptions {
  /** The Django site whose database and login page flowergate uses; null: only `env` configures it. */
  site: DjangoSite | null;
  /** Configuration file; default examples/flower-policy.yaml; null: none (environment only, as in a container). */
  configFile?: string | null;
  /** More FLOWERGATE_* settings (they win over the site's). */
  env?: Record<string, string>;
  /** Replaces the file's policy rules (FLOWERGATE_POLICY_RULES). */
  rules?: readonly PolicyRule[];
  /** 'in-process' (default): createApp + http.createServer; 'process': `node src/cli.ts serve`. */
  mode?: 'in-process' | 'process';
  t?: Teardown;
}

function flowergateEnv(options: FlowergateOptions): Record<string, string> {
  return {
    ...(options.site
      ? { ...options.site.flowergateEnv, FLOWERGATE_DJANGO_LOGIN_URL: options.site.loginUrl }
      : {}),
    // every request is looked up again, so one test's session can never answer for another's
    FLOWERGATE_CACHE_ALLOW_TTL: '0',
    FLOWERGATE_CACHE_DENY_TTL: '0',
    ...(options.rules ? { FLOWERGATE_POLICY_RULES: JSON.stringify(options.rules) } : {}),
    ...options.env,
  };
}

const configFileOf = (options: FlowergateOptions) =>
  options.configFile === null ? undefined : (options.configFile ?? EXAMPLE_POLICY);

export async function startFlowergate(options: FlowergateOptions): Promise<Flowergate> {
  return options.mode === 'process' ? startFlowergateProcess(options) : startFlowergateInProcess(options);
}

/**
 * flowergate in this process, wired as src/serve.ts wires it: the same server options, the sidecar proxy (and
 * its WebSocket upgrades) when FLOWERGATE_UPSTREAM is set. No admin server; `registry` has the metrics.
 */
export async function startFlowergateInProcess(options: FlowergateOptions): Promise<FlowergateInProcess> {
  const config = loadConfig({ file: configFileOf(options), env: flowergateEnv(options) });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(line) },
    secrets: configSecrets(config),
  });
  const registry = new Registry();
  const app: App = createApp({
    config,
    logger,
    registry,
    database: await openDatabase(config),
    createSidecar: createSidecarProxy,
  });
  const server: Server = http.createServer(
    { requestTimeout: 30_000, headersTimeout: 15_000, maxHeaderSize: 16 * 1024 },
    app.handler,
  );
  server.keepAliveTimeout = 65_000;
  if (app.sidecar) server.on('upgrade', app.sidecar.handleUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await app.sidecar?.drain(0);
      await closed;
      await app.close();
    })();
    return stopping;
  };
  options.t?.teardown(stop);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    address: `127.0.0.1:${port}`,
    app,
    registry,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    stop,
  };
}

/** `node src/cli.ts serve` on free ports (retried when one is taken meanwhile). */
export async function startFlowergateProcess(options: FlowergateOptions): Promise<FlowergateProcess> {
  const file = configFileOf(options);
  for (let attempt = 1; ; attempt++) {
    const [port, adminPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(file ? { FLOWERGATE_CONFIG: file } : {}),
      FLOWERGATE_LISTEN: `127.0.0.1:${port}`,
      FLOWERGATE_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      ...flowergateEnv(options),
    };
    try {
      const proc = await startProcess(process.execPath, [join(ROOT, 'src/cli.ts'), 'serve'], {
        name: 'flowergate',
        cwd: ROOT,
        env,
        readyLine: /flowergate listening on/,
        readyPort: port,
        timeoutMs: 20_000,
        t: options.t,
      });
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        address: `127.0.0.1:${port}`,
        adminUrl: `http://127.0.0.1:${adminPort}`,
        proc,
        logs: () =>
          proc
            .stdout()
            .split('\n')
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as Record<string, unknown>),
        stop: () => proc.stop(),
      };
    } catch (e) {
      if (attempt >= 4 || !/EADDRINUSE|address already in use/i.test(String(e))) throw e;
    }
  }
}

/** The audit lines (one per decision) in a flowergate's log. */
export const auditLines = (fg: Flowergate) => fg.logs().filter((line) => 'decision' in line);

/**
 * One set of servers for a whole test file, built on first use (so a file whose tools are missing builds
 * nothing) and stopped, last started first, after the file's last test.
 *
 *   const setup = shared(async (t) => ({ site: await startDjangoSite({ t }), ... }));
 *   maybe('…', async (t) => { const { site } = await setup(); ... });
 */
export function shared<T>(build: (t: Teardown) => Promise<T>): () => Promise<T> {
  const stops: Array<() => Promise<void>> = [];
  let value: Promise<T> | undefined;
  test.after.always('stop the shared servers', async () => {
    for (const stop of stops.reverse()) await stop();
  });
  return () => {
    value ??= build({ teardown: (fn) => void stops.push(fn) });
    return value;
  };
}

/** A request marker unique within the file, so concurrent tests can find their own requests upstream. */
let markers = 0;
export const marker = (label: string) => `${label}-${++markers}`;

/** The requests the upstream received whose URI carries `mark`. */
export async function seenUpstream(flower: FlowerUpstream, mark: string): Promise<RecordedRequest[]> {
  return (await flower.requests()).filter((r) => r.uri.includes(mark));
}
