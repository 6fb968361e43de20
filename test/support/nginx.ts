// A real nginx configured the way ingress-nginx does external auth (the `auth-url`, `auth-signin`,
// `auth-signin-redirect-param`, `auth-response-headers` and `auth-keepalive` annotations), in front of a
// caller-given upstream, on 127.0.0.1 with a free port. research/forward-auth.md §1 describes the contract.
//
//   const gate = await startNginx({
//     authUrl: `http://127.0.0.1:${fgPort}/_flowergate/auth/nginx`,
//     upstream: flower.url,
//     signinUrl: 'http://django.test/admin/login/',          // optional: 401 -> 302 ...?next=<original URL>
//     t,
//   });
//   await fetch(`${gate.url}/flower/`);
//
// Everything (config, pid, logs, temp files) lives in a temp dir that stop() removes; nginx runs in the
// foreground (`daemon off`) as the current user. renderNginxConf() returns the config without starting nginx.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  MissingToolError,
  makeTempDir,
  probe,
  removeDir,
  requireBinary,
  startProcess,
  type Teardown,
} from './processes.ts';

const SET_MISC_MODULES = [
  '/usr/lib/nginx/modules/ndk_http_module.so',
  '/usr/lib/nginx/modules/ngx_http_set_misc_module.so',
];

export interface NginxOptions {
  /** ingress-nginx `auth-url`: absolute http URL of the auth endpoint. */
  authUrl: string;
  /** Where allowed requests go: an origin such as `http://127.0.0.1:5566` (the path is passed unchanged). */
  upstream: string;
  /**
   * ingress-nginx `auth-signin`: when set, a 401 from the auth service becomes a 302 to this URL with
   * `<signinRedirectParam>=<scheme>://<host><escaped request URI>` appended (nothing appended when the URL
   * already has that parameter). A 403 is never redirected. Needs `set_escape_uri` from the set-misc module,
   * as ingress-nginx does (Debian package libnginx-mod-http-set-misc).
   */
  signinUrl?: string;
  /** ingress-nginx `auth-signin-redirect-param`; default 'next' (ingress-nginx's own default is 'rd'). */
  signinRedirectParam?: string;
  /** ingress-nginx `auth-response-headers`; default X-Auth-Request-User, -Email, -Groups. */
  authResponseHeaders?: string[];
  /**
   * The auth sub-request: 'ingress-nginx' (default) sets every header the controller sets; 'auth_request' is
   * a plain nginx recipe that sets only X-Original-URL and X-Original-Method (the two the nginx endpoint reads)
   * and passes the client's other headers on, as proxy_pass does by default.
   */
  recipe?: 'ingress-nginx' | 'auth_request';
  /** Location the ingress path maps to; default '/'. */
  locationPath?: string;
  /** ingress-nginx `proxy-body-size`; default '1m' as in ingress-nginx (bigger bodies get 413). */
  clientMaxBodySize?: string;
  /** ingress-nginx `proxy-buffering`; default 'off' as in ingress-nginx. */
  proxyBuffering?: 'on' | 'off';
  /** `proxy_read_timeout` for the upstream, seconds; default 60. */
  proxyReadTimeout?: number;
  /** Raw config lines added to the http block, the server block, the main location, the auth location. */
  snippets?: { http?: string; server?: string; location?: string; authLocation?: string };
  /** Port to listen on; default a free one (retried on "address in use"). */
  port?: number;
  /** ava's `t`: registers stop() with t.teardown. */
  t?: Teardown;
}

export interface Nginx {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  dir: string;
  /** The generated nginx.conf. */
  config: string;
  /** Contents of error.log (level info) so far. */
  errorLog(): string;
  /** Contents of access.log so far: `<status> <method> <uri> auth=<auth status> upstream=<upstream status>`. */
  accessLog(): string;
  /**
   * The access log once a line matches: nginx writes it after the response has gone to the client,
   * so a test that reads it right after its request races nginx. Gives the log as it is after 5 s.
   */
  accessLogMatching(pattern: RegExp): Promise<string>;
  /** Stops nginx (SIGTERM to the group, SIGKILL after 3 s) and removes the temp dir; idempotent. */
  stop(): Promise<void>;
}

let nginxChecked: string | MissingToolError | undefined;

/** Path of an nginx with auth_request, or throws MissingToolError. */
export function assertNginx(): string {
  if (nginxChecked === undefined) {
    try {
      const bin = requireBinary('nginx', 'nginx');
      const { output } = probe(bin, ['-V']);
      nginxChecked = output.includes('--with-http_auth_request_module')
        ? bin
        : new MissingToolError('nginx auth_request module', 'nginx', `${bin} was built without it`);
    } catch (e) {
      nginxChecked = e as MissingToolError;
    }
  }
  if (typeof nginxChecked !== 'string') throw nginxChecked;
  return nginxChecked;
}

/** Throws MissingToolError unless the set-misc module (set_escape_uri, for signinUrl) is installed. */
export function assertNginxSetMisc(): void {
  assertNginx();
  for (const file of SET_MISC_MODULES) {
    if (!existsSync(file)) {
      throw new MissingToolError(
        'nginx set-misc module (set_escape_uri)',
        'libnginx-mod-http-set-misc',
        `no ${file}`,
      );
    }
  }
}

/** `$upstream_http_x_auth_request_user` for `X-Auth-Request-User`. */
const upstreamVar = (header: string) => `$upstream_http_${header.toLowerCase().replace(/-/g, '_')}`;

/** ingress-nginx buildAuthSignURL: append `?param=` or `&param=` unless the URL already carries the param. */
function signinRedirect(signinUrl: string, param: string): string {
  const u = new URL(signinUrl);
  if (u.searchParams.has(param)) return signinUrl;
  const sep = signinUrl.includes('?') ? '&' : '?';
  return `${signinUrl}${sep}${param}=$pass_access_scheme://$http_host$escaped_request_uri`;
}

/** A double-quoted nginx string; `$variables` in it are still expanded. */
const quote = (value: string) => `"${value.replace(/(["\\])/g, '\\$1')}"`;

/** The nginx.conf startNginx() writes (exported so tests and docs can show it). */
export function renderNginxConf(options: NginxOptions & { dir: string; port: number }): string {
  const auth = new URL(options.authUrl);
  if (auth.protocol !== 'http:') throw new Error(`authUrl must be http: ${options.authUrl}`);
  const up = new URL(options.upstream);
  if (up.protocol !== 'http:') throw new Error(`upstream must be http: ${options.upstream}`);
  const authPort = auth.port || '80';
  const upPort = up.port || '80';
  const headers = options.authResponseHeaders ?? [
    'X-Auth-Request-User',
    'X-Auth-Request-Email',
    'X-Auth-Request-Groups',
  ];
  const path = options.locationPath ?? '/';
  const { dir } = options;
  const s = options.snippets ?? {};
  const asRoot = process.getuid?.() === 0;
  const user = userInfo();

  const lines: string[] = [];
  if (options.signinUrl) for (const m of SET_MISC_MODULES) lines.push(`load_module ${m};`);
  lines.push(
    asRoot ? `user ${user.username} root;` : '# not root: workers run as the current user',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    '# readiness: "start worker processes" comes after the listening sockets are bound',
    'error_log stderr notice;',
    'events { worker_connections 1024; }',
    'http {',
    `  client_body_temp_path ${dir}/client_body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    '  default_type application/octet-stream;',
    `  log_format gate '$status $request_method $request_uri auth=$auth_status upstream=$upstream_status';`,
    `  access_log ${dir}/access.log gate;`,
    '  server_tokens off;',
    '',
    '  # ingress-nginx: upgrade when asked, keep upstream connections alive otherwise',
    '  map $http_upgrade $connection_upgrade {',
    '    default upgrade;',
    "    ''      '';",
    '  }',
    '',
    '  # auth-keepalive: a pooled upstream for the auth service',
    '  upstream external_auth {',
    `    server ${auth.hostname}:${authPort};`,
    '    keepalive 32;',
    '    keepalive_requests 1000;',
    '    keepalive_timeout 60s;',
    '  }',
    '  upstream app_upstream {',
    `    server ${up.hostname}:${upPort};`,
    '    keepalive 32;',
    '  }',
    s.http ?? '',
    '  server {',
    `    listen 127.0.0.1:${options.port};`,
    '    server_name _;',
    s.server ?? '',
    '',
    '    location = /_external-auth {',
    '      internal;',
    ...(options.recipe === 'auth_request'
      ? [
          '      proxy_pass_request_body off;',
          '      proxy_set_header Content-Length "";',
          '      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;',
          '      proxy_set_header X-Original-Method $request_method;',
          '      proxy_http_version 1.1;',
          '      proxy_set_header Connection "";',
        ]
      : [
          '      proxy_pass_request_body     off;',
          '      proxy_set_header            Content-Length          "";',
          '      proxy_set_header            X-Forwarded-Proto       "";',
          '      proxy_set_header            X-Request-ID            $request_id;',
          `      proxy_set_header            Host                    ${auth.hostname};`,
          '      proxy_set_header            X-Original-URL          $scheme://$http_host$request_uri;',
          '      proxy_set_header            X-Original-Method       $request_method;',
          '      proxy_set_header            X-Sent-From             "nginx-ingress-controller";',
          '      proxy_set_header            X-Real-IP               $remote_addr;',
          '      proxy_set_header            X-Forwarded-For         $remote_addr;',
          '      proxy_set_header            X-Auth-Request-Redirect $request_uri;',
          '      proxy_set_header            Connection              "";',
          '      proxy_buffering             off;',
          '      proxy_buffer_size           4k;',
          '      proxy_buffers               4 4k;',
          '      proxy_request_buffering     on;',
          '      proxy_http_version          1.1;',
          '      proxy_pass_request_headers  on;',
          '      client_max_body_size        1m;',
        ]),
    s.authLocation ?? '',
    `      set $target http://external_auth${auth.pathname}${auth.search};`,
    '      proxy_pass $target;',
    '    }',
  );
  if (options.signinUrl) {
    const target = signinRedirect(options.signinUrl, options.signinRedirectParam ?? 'next');
    lines.push(
      '',
      '    location @signin {',
      '      internal;',
      '      add_header Set-Cookie $auth_cookie;',
      `      return 302 ${quote(target)};`,
      '    }',
    );
  }
  lines.push(
    '',
    `    location ${path} {`,
    '      set $pass_access_scheme $scheme;',
    '      set $best_http_host $http_host;',
    '      # this location requires authentication',
    '      auth_request        /_external-auth;',
    '      auth_request_set    $auth_status $upstream_status;',
    '      auth_request_set    $auth_cookie $upstream_http_set_cookie;',
    '      add_header          Set-Cookie $auth_cookie;',
    ...headers.flatMap((h, i) => [
      `      auth_request_set $authHeader${i} ${upstreamVar(h)};`,
      `      proxy_set_header '${h}' $authHeader${i};`,
    ]),
  );
  if (options.signinUrl) {
    lines.push('      set_escape_uri $escaped_request_uri $request_uri;', '      error_page 401 = @signin;');
  }
  lines.push(
    `      client_max_body_size ${options.clientMaxBodySize ?? '1m'};`,
    '      proxy_set_header Host $best_http_host;',
    '      # Allow websocket connections',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_set_header X-Request-ID $request_id;',
    '      proxy_set_header X-Real-IP $remote_addr;',
    '      proxy_set_header X-Forwarded-For $remote_addr;',
    '      proxy_set_header X-Forwarded-Host $best_http_host;',
    '      proxy_set_header X-Forwarded-Port $server_port;',
    '      proxy_set_header X-Forwarded-Proto $pass_access_scheme;',
    '      proxy_set_header X-Scheme $pass_access_scheme;',
    '      proxy_set_header Proxy "";',
    '      proxy_connect_timeout 5s;',
    '      proxy_send_timeout 60s;',
    `      proxy_read_timeout ${options.proxyReadTimeout ?? 60}s;`,
    `      proxy_buffering ${options.proxyBuffering ?? 'off'};`,
    '      proxy_buffer_size 4k;',
    '      proxy_buffers 4 4k;',
    '      proxy_request_buffering on;',
    '      proxy_http_version 1.1;',
    s.location ?? '',
    '      proxy_pass http://app_upstream;',
    '    }',
    '  }',
    '}',
  );
  return `${lines.filter((l, i, all) => l !== '' || all[i - 1] !== '').join('\n')}\n`;
}

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const bin = assertNginx();
  if (options.signinUrl) assertNginxSetMisc();
  const dir = makeTempDir('nginx');
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      const config = renderNginxConf({ ...options, dir, port });
      const confFile = join(dir, 'nginx.conf');
      writeFileSync(confFile, config);
      try {
        const proc = await startProcess(
          bin,
          ['-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', confFile, '-g', 'daemon off;'],
          {
            name: 'nginx',
            removeOnOrphan: [dir],
            readyLine: /\[notice\] \d+#\d+: start worker processes/,
            readyStream: 'stderr',
            readyPort: port,
            timeoutMs: 15_000,
          },
        );
        let stopping: Promise<void> | undefined;
        const stop = () => {
          stopping ??= proc.stop().finally(() => removeDir(dir));
          return stopping;
        };
        options.t?.teardown(stop);
        const read = (file: string) => {
          try {
            return readFileSync(join(dir, file), 'utf8');
          } catch {
            return '';
          }
        };
        return {
          url: `http://127.0.0.1:${port}`,
          port,
          dir,
          config,
          errorLog: () => read('error.log'),
          accessLog: () => read('access.log'),
          accessLogMatching: async (pattern) => {
            const deadline = Date.now() + 5000;
            let log = read('access.log');
            while (!pattern.test(log) && Date.now() < deadline) {
              await new Promise((resolve) => setTimeout(resolve, 20));
              log = read('access.log');
            }
            return log;
          },
          stop,
        };
      } catch (e) {
        const inUse = e instanceof Error && /Address already in use/.test(e.message);
        if (!inUse || options.port !== undefined || attempt >= 5) throw e;
      }
    }
  } catch (e) {
    removeDir(dir);
    throw e;
  }
}
