// Shared setup for the sidecar-proxy tests: the Tornado Flower-like upstream under --url_prefix=flower, a real
// Django site (users and logins made by Django itself), and flowergate in sidecar mode in front of the upstream,
// in-process (createApp + createSidecarProxy, wired as src/serve.ts does) or as `node src/cli.ts serve`.

import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { type App, createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { PolicyRule } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createSidecarProxy } from '../../src/proxy/sidecar.ts';
import { type DjangoSite, EXAMPLE_RULES } from '../support/e2e.ts';
import type { FlowerUpstream } from '../support/flower-upstream.ts';
import { freePort, type ManagedProcess, startProcess, type Teardown } from '../support/processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PREFIX = '/flower';

/**
 * An upstream that refuses connections. Not a port from freePort(): the OS hands that same ephemeral
 * port to the next server that listens on port 0 (another gate in the same test file), which then
 * answers instead. Port 1 (tcpmux) is privileged and unused.
 */
export const NOTHING_LISTENS = 'http://127.0.0.1:1';

/** examples/flower-policy.yaml with its paths under the prefix, as its own comment says to do for --url_prefix. */
export const PREFIXED_RULES: PolicyRule[] = EXAMPLE_RULES.map((rule) => {
  const path = rule.path;
  if (!path) return rule;
  if ('exact' in path) return { ...rule, path: { exact: PREFIX + path.exact } };
  if ('prefix' in path) return { ...rule, path: { prefix: PREFIX + path.prefix } };
  return rule;
});

export interface GateOptions {
  site: DjangoSite;
  /** The upstream, or an origin nothing listens on. */
  upstream: FlowerUpstream | string;
  env?: Record<string, string>;
  t: Teardown;
}

export interface InProcessGate {
  url: string;
  port: number;
  app: App;
  registry: Registry;
  logs(): Record<string, unknown>[];
  /** Prometheus text of this instance's registry. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export function gateEnv(options: GateOptions): Record<string, string> {
  const upstream = typeof options.upstream === 'string' ? options.upstream : options.upstream.url;
  return {
    ...options.site.flowergateEnv,
    FLOWERGATE_DJANGO_LOGIN_URL: options.site.loginUrl,
    FLOWERGATE_UPSTREAM: upstream,
    FLOWERGATE_PROXY_URL_PREFIX: PREFIX,
    FLOWERGATE_POLICY_RULES: JSON.stringify(PREFIXED_RULES),
    // every request is looked up again, so one test's session never answers for another's
    FLOWERGATE_CACHE_ALLOW_TTL: '0',
    FLOWERGATE_CACHE_DENY_TTL: '0',
    ...options.env,
  };
}

/** flowergate in sidecar mode in this process; the main server is created exactly as src/serve.ts does. */
export async function startGate(options: GateOptions): Promise<InProcessGate> {
  const config = loadConfig({ env: gateEnv(options) });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const registry = new Registry();
  const app = createApp({ config, logger, registry, createSidecar: createSidecarProxy });
  const server: Server = http.createServer(
    { requestTimeout: 30_000, headersTimeout: 15_000, maxHeaderSize: 16 * 1024 },
    app.main.callback(),
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
      server.close();
      server.closeAllConnections();
      await app.sidecar?.drain(0);
      await app.close();
    })();
    return stopping;
  };
  options.t.teardown(stop);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    app,
    registry,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    metrics: () => registry.metrics(),
    stop,
  };
}

export interface GateProcess {
  url: string;
  port: number;
  adminUrl: string;
  proc: ManagedProcess;
  logs(): Record<string, unknown>[];
}

/** `node src/cli.ts serve` configured only through FLOWERGATE_* variables, as in a container. */
export async function startGateProcess(options: GateOptions): Promise<GateProcess> {
  for (let attempt = 1; ; attempt++) {
    const [port, adminPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      FLOWERGATE_LISTEN: `127.0.0.1:${port}`,
      FLOWERGATE_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      ...gateEnv(options),
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
        adminUrl: `http://127.0.0.1:${adminPort}`,
        proc,
        logs: () =>
          proc
            .stdout()
            .split('\n')
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as Record<string, unknown>),
      };
    } catch (e) {
      if (attempt >= 4 || !/EADDRINUSE|address already in use/i.test(String(e))) throw e;
    }
  }
}

/** The value of one sample line in Prometheus text, e.g. `flowergate_proxy_upstream_errors_total{kind="timeout"}`. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
