// The load generator: a fixed number of keep-alive HTTP/1.1 connections (no pipelining), each sending
// its next request as soon as the previous answer is complete, for a fixed duration. Latency is per
// request; the result is requests/s, p50 and p99.
//
// `wrk` (Debian package wrk) does the work when installed: it is written in C and needs far less CPU
// per request than any Node client, so on a 2-core machine it does not starve the server. A Lua
// script rotates through prebuilt requests (thousands of distinct session cookies) or makes a fresh
// random session key per request (the attack row). Without wrk, a small Node generator over
// node:net sockets does the same job, more slowly; the report says which one ran.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';

export interface RequestSpec {
  readonly method?: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Requests sent in turn; or one template whose `RANDOM_KEY` placeholder becomes a fresh random key on
 * every request: `length` characters of `alphabet` (default: a Django session key, 32 of [a-z0-9]).
 */
export type RequestSource =
  | { readonly kind: 'list'; readonly requests: readonly RequestSpec[] }
  | {
      readonly kind: 'random-key';
      readonly template: RequestSpec;
      readonly alphabet?: string;
      readonly length?: number;
    };

export const DJANGO_KEY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export const RANDOM_KEY = '%RANDOM_KEY%';

export interface LoadOptions {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly source: RequestSource;
  readonly connections: number;
  readonly seconds: number;
  /** CPU list for the generator (`taskset -c`), when pinning. */
  readonly cpus?: string | undefined;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Connect, read, write errors and timeouts. */
  readonly socketErrors: number;
  /** wrk: answers outside 2xx/3xx. Node generator: answers whose status was not `expectStatus`. */
  readonly badStatus: number;
}

export interface LoadGenerator {
  readonly name: string;
  run(options: LoadOptions): Promise<LoadResult>;
}

/** Raw HTTP/1.1 request text. */
export function renderRequest(spec: RequestSpec, host: string): string {
  const lines = [`${spec.method ?? 'GET'} ${spec.path} HTTP/1.1`];
  if (!Object.keys(spec.headers).some((name) => name.toLowerCase() === 'host')) lines.push(`Host: ${host}`);
  for (const [name, value] of Object.entries(spec.headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

// ---------------------------------------------------------------------------------------------- wrk

/** A Lua string literal for any bytes. */
function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'latin1')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte}`;
  }
  return `${out}"`;
}

const WRK_DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FGBENCH requests=%d duration_us=%d p50_us=%d p99_us=%d socket=%d status=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
`;

function wrkScript(source: RequestSource, host: string, dir: string): string {
  if (source.kind === 'random-key') {
    const raw = renderRequest(source.template, host);
    const at = raw.indexOf(RANDOM_KEY);
    if (at === -1) throw new Error(`random-key template without ${RANDOM_KEY}`);
    return `
local prefix = ${luaString(raw.slice(0, at))}
local suffix = ${luaString(raw.slice(at + RANDOM_KEY.length))}
local chars = {}
local alphabet = ${luaString(source.alphabet ?? DJANGO_KEY_ALPHABET)}
local length = ${source.length ?? 32}
for i = 1, #alphabet do chars[i] = alphabet:sub(i, i) end
local key = {}
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
request = function()
  for j = 1, length do key[j] = chars[math.random(#alphabet)] end
  return prefix .. table.concat(key) .. suffix
end
${WRK_DONE}`;
  }
  const [only] = source.requests;
  if (source.requests.length === 1 && only) {
    // A static request: wrk builds it once and never calls into Lua per request.
    const headers = Object.entries(only.headers)
      .map(([name, value]) => `wrk.headers[${luaString(name)}] = ${luaString(value)}`)
      .join('\n');
    return `wrk.method = ${luaString(only.method ?? 'GET')}
wrk.path = ${luaString(only.path)}
${headers}
${WRK_DONE}`;
  }
  const file = join(dir, 'requests.bin');
  writeFileSync(file, Buffer.from(source.requests.map((r) => renderRequest(r, host)).join('\0'), 'latin1'));
  return `
local list = {}
local i = 0
init = function(args)
  local f = assert(io.open(${luaString(file)}, "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while true do
    local stop = string.find(data, "\\0", pos, true)
    if stop == nil then list[#list + 1] = string.sub(data, pos); break end
    list[#list + 1] = string.sub(data, pos, stop - 1)
    pos = stop + 1
  end
  math.randomseed(os.time())
  i = math.random(#list) - 1
end
request = function()
  i = i + 1
  if i > #list then i = 1 end
  return list[i]
end
${WRK_DONE}`;
}

export function wrkGenerator(binary: string, taskset: string | undefined): LoadGenerator {
  return {
    name: 'wrk',
    async run(options) {
      const url = new URL(options.origin);
      const dir = mkdtempSync(join(tmpdir(), 'flowergate-bench-wrk-'));
      try {
        const script = join(dir, 'script.lua');
        writeFileSync(script, wrkScript(options.source, url.host, dir));
        const args = [
          '-t1',
          `-c${options.connections}`,
          `-d${Math.max(1, Math.round(options.seconds))}s`,
          '--timeout',
          '10s',
          '-s',
          script,
          `${options.origin}/`,
        ];
        const [command, argv] =
          options.cpus && taskset ? [taskset, ['-c', options.cpus, binary, ...args]] : [binary, args];
        const output = await new Promise<string>((resolve, reject) => {
          const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
          });
          child.stderr.on('data', (chunk: Buffer) => {
            out += chunk.toString();
          });
          child.on('error', reject);
          child.on('close', (code) =>
            code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}: ${out}`)),
          );
        });
        const line = output.split('\n').find((l) => l.startsWith('FGBENCH '));
        if (!line) throw new Error(`wrk printed no result:\n${output}`);
        const field = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(line)?.[1] ?? Number.NaN);
        const seconds = field('duration_us') / 1e6;
        const requests = field('requests');
        return {
          requests,
          seconds,
          rps: requests / seconds,
          p50Ms: field('p50_us') / 1000,
          p99Ms: field('p99_us') / 1000,
          socketErrors: field('socket'),
          badStatus: field('status'),
        };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

// ------------------------------------------------------------------------------ Node (fallback)

/** Reads HTTP/1.1 responses off a byte stream: Content-Length or chunked bodies, no trailers. */
export class ResponseReader {
  #buffer: Buffer = Buffer.alloc(0);
  #state: 'head' | 'body' | 'chunk' = 'head';
  #remaining = 0;
  #status = 0;

  /** Feeds bytes; calls onResponse(status) for each complete response. */
  feed(chunk: Buffer, onResponse: (status: number) => void): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      const buffer = this.#buffer;
      if (this.#state === 'head') {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffer.toString('latin1', 0, end);
        this.#status = Number(head.slice(9, 12));
        const lower = head.toLowerCase();
        const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        this.#buffer = buffer.subarray(end + 4);
        if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) {
          this.#state = 'chunk';
        } else {
          this.#state = 'body';
          this.#remaining = length ? Number(length[1]) : 0;
        }
      } else if (this.#state === 'body') {
        if (buffer.length < this.#remaining) return;
        this.#buffer = buffer.subarray(this.#remaining);
        this.#state = 'head';
        onResponse(this.#status);
      } else {
        const eol = buffer.indexOf('\r\n');
        if (eol === -1) return;
        const size = Number.parseInt(buffer.toString('latin1', 0, eol), 16);
        const need = eol + 2 + size + 2;
        if (buffer.length < need) return;
        this.#buffer = buffer.subarray(need);
        if (size === 0) {
          this.#state = 'head';
          onResponse(this.#status);
        }
      }
    }
  }
}

function requestMaker(source: RequestSource, host: string): () => Buffer {
  if (source.kind === 'random-key') {
    const raw = renderRequest(source.template, host);
    const at = raw.indexOf(RANDOM_KEY);
    const prefix = raw.slice(0, at);
    const suffix = raw.slice(at + RANDOM_KEY.length);
    const alphabet = source.alphabet ?? DJANGO_KEY_ALPHABET;
    const length = source.length ?? 32;
    return () => {
      let key = '';
      for (let j = 0; j < length; j++) key += alphabet[Math.floor(Math.random() * alphabet.length)];
      return Buffer.from(prefix + key + suffix, 'latin1');
    };
  }
  const list = source.requests.map((r) => Buffer.from(renderRequest(r, host), 'latin1'));
  let i = Math.floor(Math.random() * list.length);
  return () => {
    i = (i + 1) % list.length;
    return list[i]!;
  };
}

/**
 * The fallback generator, in this process. `expectStatus` makes badStatus exact. Run the bench
 * process on its own CPU (run.ts pins itself) so the generator does not share the server's.
 */
export function nodeGenerator(expectStatus: () => number): LoadGenerator {
  return {
    name: 'node (bench/load.ts over net sockets)',
    async run(options) {
      const url = new URL(options.origin);
      const next = requestMaker(options.source, url.host);
      const histogram = createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
      const expected = expectStatus();
      let requests = 0;
      let socketErrors = 0;
      let badStatus = 0;
      const started = performance.now();
      const deadline = started + options.seconds * 1000;
      const connection = () =>
        new Promise<void>((resolve) => {
          const reader = new ResponseReader();
          const socket = net.connect(Number(url.port), url.hostname);
          socket.setNoDelay(true);
          let sentAt = 0;
          const send = () => {
            sentAt = performance.now();
            socket.write(next());
          };
          socket.on('connect', send);
          socket.on('data', (chunk: Buffer) =>
            reader.feed(chunk, (status) => {
              const now = performance.now();
              requests++;
              histogram.record(Math.max(1, Math.round((now - sentAt) * 1e6)));
              if (status !== expected) badStatus++;
              if (now < deadline) send();
              else socket.end();
            }),
          );
          socket.on('error', () => {
            socketErrors++;
          });
          socket.on('close', () => resolve());
        });
      await Promise.all(Array.from({ length: options.connections }, connection));
      const seconds = (performance.now() - started) / 1000;
      return {
        requests,
        seconds,
        rps: requests / seconds,
        p50Ms: histogram.percentile(50) / 1e6,
        p99Ms: histogram.percentile(99) / 1e6,
        socketErrors,
        badStatus,
      };
    },
  };
}

/** Sends the source's first `count` requests on one connection; returns the statuses (a pre-flight check). */
export async function probeStatuses(origin: string, source: RequestSource, count = 3): Promise<number[]> {
  const url = new URL(origin);
  const next = requestMaker(source, url.host);
  return await new Promise<number[]>((resolve, reject) => {
    const statuses: number[] = [];
    const reader = new ResponseReader();
    const socket = net.connect(Number(url.port), url.hostname);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer from ${origin} within 10 s`)));
    socket.on('connect', () => socket.write(next()));
    socket.on('data', (chunk: Buffer) =>
      reader.feed(chunk, (status) => {
        statuses.push(status);
        if (statuses.length < count) socket.write(next());
        else {
          socket.end();
          resolve(statuses);
        }
      }),
    );
    socket.on('error', reject);
    socket.on('close', () =>
      reject(
        new Error(
          `${origin} closed the connection after ${statuses.length} answers (${statuses.join(', ')})`,
        ),
      ),
    );
  });
}
