// A real Tornado app that behaves like Celery Flower 2 where a proxy can tell (flower_upstream.py documents
// the routes), started on 127.0.0.1 with an OS-chosen port.
//
//   const flower = await startFlowerUpstream({ prefix: 'flower', t });
//   await fetch(`${flower.base}/healthcheck`);          // "OK"
//   const seen = await flower.requests();               // what reached Flower, e.g. to assert no Cookie arrived
//
// Routes live under the prefix like Flower's (`GET /flower` without the slash is Flower's themed 404, not a
// redirect: research/flower.md §5, §11). The request log is at `${flower.url}/__requests` (outside the prefix,
// never recorded itself).

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MissingToolError, makeTempDir, probe, removeDir, startProcess, type Teardown } from './processes.ts';

export const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./flower_upstream.py', import.meta.url));

/** The worker and task the fake Flower knows about. */
export const FAKE_WORKER = 'w1@host';
export const FAKE_TASK_ID = '8d3c2b1a-0000-4000-8000-000000000001';

/** One request as the upstream received it. */
export interface RecordedRequest {
  seq: number;
  /** Unix time in seconds. */
  time: number;
  method: string;
  /** Path and query as sent (`/flower/api/tasks?limit=1`). */
  uri: string;
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  version: string;
  /**
   * Lower-cased names; repeated headers joined with ', ' (Cookie with '; '). Values as Tornado decodes them:
   * one character per byte (latin-1), so UTF-8 bytes show up as `jÃ¼rgen`.
   */
  headers: Record<string, string>;
  /** The same headers' bytes decoded as UTF-8, as a WSGI app does (`jürgen`); null where they are not UTF-8. */
  headersUtf8: Record<string, string | null>;
  /** Every header line in order, names as Tornado normalises them (`X-Auth-Request-User`). */
  rawHeaders: [string, string][];
  remoteIp: string;
}

export interface FlowerUpstreamOptions {
  /** Flower's --url_prefix ('flower', '/flower' or '/flower/' are the same); default none. */
  prefix?: string;
  /** FLOWER_UNAUTHENTICATED_API; default true (a Flower behind a gate). false: every /api/* answers 401. */
  unauthenticatedApi?: boolean;
  /** Readiness timeout, default 15 s. */
  timeoutMs?: number;
  /** ava's `t`: registers stop() with t.teardown. */
  t?: Teardown;
}

export interface FlowerUpstream {
  /** Origin, `http://127.0.0.1:<port>`: what a proxy's upstream setting takes (FLOWERGATE_UPSTREAM). */
  url: string;
  port: number;
  /** '' or '/flower' (leading slash, no trailing slash). */
  prefix: string;
  /** url + prefix; the dashboard is `${base}/`. */
  base: string;
  /** Every request received since start or the last clear(), oldest first. */
  requests(): Promise<RecordedRequest[]>;
  clear(): Promise<void>;
  /** Stops the server and removes its temp dir; idempotent. */
  stop(): Promise<void>;
  /** The Python process's stderr (Tornado logs handler exceptions and 4xx warnings there). */
  stderr(): string;
}

let checked: true | MissingToolError | undefined;

/** Throws MissingToolError unless Debian's python3 with Tornado is installed. */
export function assertTornado(): void {
  if (checked === undefined) {
    if (!existsSync(PYTHON)) checked = new MissingToolError(PYTHON, 'python3 python3-tornado');
    else {
      const r = probe(PYTHON, ['-c', 'import tornado.web, tornado.websocket; print(tornado.version)']);
      checked =
        r.status === 0 ? true : new MissingToolError('Tornado for /usr/bin/python3', 'python3-tornado');
    }
  }
  if (checked !== true) throw checked;
}

export async function startFlowerUpstream(options: FlowerUpstreamOptions = {}): Promise<FlowerUpstream> {
  assertTornado();
  const bare = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const prefix = bare ? `/${bare}` : '';
  const dir = makeTempDir('flower');
  let proc: Awaited<ReturnType<typeof startProcess>>;
  try {
    proc = await startProcess(
      PYTHON,
      [
        SCRIPT,
        '--port',
        '0',
        '--url_prefix',
        bare,
        '--static_path',
        dir,
        '--unauthenticated_api',
        String(options.unauthenticatedApi ?? true),
        '--exit_on_stdin_eof',
      ],
      {
        name: 'flower_upstream.py',
        readyLine: /^FLOWER_UPSTREAM_READY port=(\d+)$/,
        stdin: 'pipe',
        removeOnOrphan: [dir],
        timeoutMs: options.timeoutMs ?? 15_000,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
      },
    );
  } catch (e) {
    removeDir(dir);
    throw e;
  }
  const port = Number(proc.readyMatch?.[1]);
  const url = `http://127.0.0.1:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= proc.stop().finally(() => removeDir(dir));
    return stopping;
  };
  options.t?.teardown(stop);

  return {
    url,
    port,
    prefix,
    base: url + prefix,
    async requests() {
      const res = await fetch(`${url}/__requests`);
      if (!res.ok) throw new Error(`GET /__requests: ${res.status}`);
      return (await res.json()) as RecordedRequest[];
    },
    async clear() {
      const res = await fetch(`${url}/__requests`, { method: 'DELETE' });
      if (res.status !== 204) throw new Error(`DELETE /__requests: ${res.status}`);
    },
    stop,
    stderr: () => proc.stderr(),
  };
}

/** The body `GET /stream?size=N` sends: byte i is i % 251. */
export function streamBody(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = i % 251;
  return out;
}

/** sha256 hex of streamBody(size), as the X-Body-Sha256 header gives it. */
export function streamSha256(size: number): string {
  return createHash('sha256').update(streamBody(size)).digest('hex');
}
