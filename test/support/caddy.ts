// A real Caddy with `forward_auth` in front of a caller-given upstream, on 127.0.0.1 with a free port.
// research/forward-auth.md §3 describes the contract.
//
//   const caddy = await startCaddy({ auth: `127.0.0.1:${fgPort}`, upstream: flower.url, t });
//   await fetch(`${caddy.url}/flower/`);
//
// Caddy runs in the foreground (`caddy run --adapter caddyfile`), with the admin API off, no automatic HTTPS,
// and HOME, XDG dirs and storage in a temp dir that stop() removes. renderCaddyfile() returns the config alone.
//
// startCaddyRouter() is Caddy as a plain ingress instead: one site that sends some paths to one upstream and
// everything else to another (`/flower/*` to a sidecar, the rest to Django), no forward_auth.
//
// Caveat (research/tooling.md §5, Caddy 2.6.2): when the auth reply lacks a header named in copy_headers, the
// upstream does NOT go without it: it receives the unreplaced placeholder as the header's value, literally
// `{http.reverse_proxy.header.X-Auth-Request-Email}`, whether or not the client sent that header. So an auth
// service behind Caddy 2.6 should always send every copied header (empty if need be), and upstream assertions
// must expect the placeholder text when it does not. Caddy 2.11.2 changed copy_headers to delete the header first
// (GHSA-7r4p-vjf4-gxv4).
//
// Also seen with Caddy 2.6.2 (test/support-selftest/caddy.test.ts):
// - `uri` replaces only the path: the client's query string is kept, so a request for `/flower/x?a=1` is
//   checked at `/_flowergate/auth/forward?a=1`. The original URI is in X-Forwarded-Uri.
// - A WebSocket handshake reaches the auth service with `Connection: Upgrade`, `Upgrade: websocket` and the
//   Sec-WebSocket-* headers (nginx's auth_request drops Upgrade/Connection). A Node server that has an
//   'upgrade' listener hands such an auth request to that listener instead of its request handler.
// - 401/403/302 replies from the auth service reach the client unchanged, body included.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir, removeDir, requireBinary, startProcess, type Teardown } from './processes.ts';

export interface CaddyOptions {
  /** The auth service, as `host:port` or an `http://host:port` origin. */
  auth: string;
  /** forward_auth `uri`; default '/_flowergate/auth/forward'. */
  uri?: string;
  /** Where allowed requests go: an origin (`http://127.0.0.1:5566`) or `host:port`. */
  upstream: string;
  /** forward_auth `copy_headers`; default X-Auth-Request-User, -Email, -Groups. */
  copyHeaders?: string[];
  /** Raw Caddyfile lines added inside the forward_auth block, the site block (before it) and reverse_proxy. */
  snippets?: { forwardAuth?: string; site?: string; reverseProxy?: string };
  /** Port to listen on; default a free one (retried on "address in use"). */
  port?: number;
  /** ava's `t`: registers stop() with t.teardown. */
  t?: Teardown;
}

export interface Caddy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  dir: string;
  /** The generated Caddyfile. */
  config: string;
  /** Caddy's log output (JSON lines on stderr). */
  log(): string;
  /** Stops Caddy (SIGTERM, SIGKILL after 3 s) and removes the temp dir; idempotent. */
  stop(): Promise<void>;
}

/** Path of caddy, or throws MissingToolError. */
export function assertCaddy(): string {
  return requireBinary('caddy', 'caddy');
}

const hostPort = (value: string) => value.replace(/^http:\/\//, '').replace(/\/+$/, '');

const globalBlock = (dir: string) => [
  '{',
  '\tadmin off',
  '\tauto_https off',
  `\tstorage file_system ${dir}/data`,
  '}',
  '',
];

/** The Caddyfile startCaddy() writes (exported so tests and docs can show it). */
export function renderCaddyfile(options: CaddyOptions & { dir: string; port: number }): string {
  const copy = options.copyHeaders ?? [
    'X-Auth-Request-User',
    'X-Auth-Request-Email',
    'X-Auth-Request-Groups',
  ];
  const s = options.snippets ?? {};
  return [
    ...globalBlock(options.dir),
    // no host in the address, so any Host header matches; bind keeps it on loopback
    `http://:${options.port} {`,
    '\tbind 127.0.0.1',
    ...(s.site ? [s.site] : []),
    `\tforward_auth ${hostPort(options.auth)} {`,
    `\t\turi ${options.uri ?? '/_flowergate/auth/forward'}`,
    `\t\tcopy_headers ${copy.join(' ')}`,
    ...(s.forwardAuth ? [s.forwardAuth] : []),
    '\t}',
    ...(s.reverseProxy
      ? [`\treverse_proxy ${hostPort(options.upstream)} {`, s.reverseProxy, '\t}']
      : [`\treverse_proxy ${hostPort(options.upstream)}`]),
    '}',
    '',
  ].join('\n');
}

export async function startCaddy(options: CaddyOptions): Promise<Caddy> {
  return runCaddy(options, (dir, port) => renderCaddyfile({ ...options, dir, port }));
}

export interface CaddyRouterOptions {
  /** Tried in order: requests whose path matches one of `paths` (Caddy `path` syntax) go to `upstream`. */
  routes: Array<{ paths: string[]; upstream: string }>;
  /** Where every other request goes. */
  fallback: string;
  /** Port to listen on; default a free one (retried on "address in use"). */
  port?: number;
  /** ava's `t`: registers stop() with t.teardown. */
  t?: Teardown;
}

/**
 * The Caddyfile startCaddyRouter() writes. `reverse_proxy` keeps the client's Host and sets X-Forwarded-For,
 * -Proto and -Host (replacing client-sent ones), as an ingress does.
 */
export function renderCaddyRouter(options: CaddyRouterOptions & { dir: string; port: number }): string {
  return [
    ...globalBlock(options.dir),
    `http://:${options.port} {`,
    '\tbind 127.0.0.1',
    ...options.routes.flatMap((route, i) => [
      `\t@route${i} path ${route.paths.join(' ')}`,
      `\thandle @route${i} {`,
      `\t\treverse_proxy ${hostPort(route.upstream)}`,
      '\t}',
    ]),
    '\thandle {',
    `\t\treverse_proxy ${hostPort(options.fallback)}`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

export async function startCaddyRouter(options: CaddyRouterOptions): Promise<Caddy> {
  return runCaddy(options, (dir, port) => renderCaddyRouter({ ...options, dir, port }));
}

async function runCaddy(
  options: { port?: number; t?: Teardown },
  render: (dir: string, port: number) => string,
): Promise<Caddy> {
  const bin = assertCaddy();
  const dir = makeTempDir('caddy');
  const env = {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: join(dir, 'xdg-data'),
    XDG_CONFIG_HOME: join(dir, 'xdg-config'),
  };
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      const config = render(dir, port);
      const file = join(dir, 'Caddyfile');
      writeFileSync(file, config);
      try {
        const proc = await startProcess(bin, ['run', '--config', file, '--adapter', 'caddyfile'], {
          name: 'caddy',
          removeOnOrphan: [dir],
          cwd: dir,
          env,
          // logged once every listener is bound; a bind failure exits instead
          readyLine: /"msg":"serving initial configuration"/,
          readyStream: 'stderr',
          readyPort: port,
          timeoutMs: 15_000,
        });
        let stopping: Promise<void> | undefined;
        const stop = () => {
          stopping ??= proc.stop().finally(() => removeDir(dir));
          return stopping;
        };
        options.t?.teardown(stop);
        return { url: `http://127.0.0.1:${port}`, port, dir, config, log: () => proc.stderr(), stop };
      } catch (e) {
        const inUse = e instanceof Error && /address already in use/i.test(e.message);
        if (!inUse || options.port !== undefined || attempt >= 5) throw e;
      }
    }
  } catch (e) {
    removeDir(dir);
    throw e;
  }
}
