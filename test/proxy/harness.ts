// Shared setup for the sidecar-proxy tests: the Tornado Flower-like upstream under --url_prefix=flower, a real
// Django site (users and logins made by Django itself), and flowergate in sidecar mode in front of the upstream,
// in-process or as `node src/cli.ts serve` (both started by test/support/e2e.ts, as the e2e tests do).

import type { PolicyRule } from '../../src/config/schema.ts';
import {
  type DjangoSite,
  EXAMPLE_RULES,
  type FlowergateInProcess,
  type FlowergateOptions,
  type FlowergateProcess,
  shared,
  startDjangoSite,
  startFlowergateInProcess,
  startFlowergateProcess,
} from '../support/e2e.ts';
import { type FlowerUpstream, startFlowerUpstream } from '../support/flower-upstream.ts';
import type { Teardown } from '../support/processes.ts';

export const PREFIX = '/flower';

/**
 * An upstream that refuses connections. Not a port from freePort(): the OS hands that same ephemeral
 * port to the next server that listens on port 0 (another gate in the same test file), which then
 * answers instead. Port 1 (tcpmux) is privileged and unused.
 */
export const NOTHING_LISTENS = 'http://127.0.0.1:1';

/** examples/flower-policy.yaml with its paths under the prefix, as its own comment says to do for --url_prefix. */
/** The example policy as written for Flower's own paths: the URL prefix is removed before rules match. */
export const RULES: readonly PolicyRule[] = EXAMPLE_RULES;

export interface GateOptions {
  site: DjangoSite;
  /** The upstream, or an origin nothing listens on. */
  upstream: FlowerUpstream | string;
  env?: Record<string, string>;
  t: Teardown;
}

export interface InProcessGate extends FlowergateInProcess {
  /** Prometheus text of this instance's registry. */
  metrics(): Promise<string>;
}

export type GateProcess = FlowergateProcess;

/** Sidecar mode in front of `upstream` under PREFIX, configured only through FLOWERGATE_* variables. */
const gateOptions = (options: GateOptions): FlowergateOptions => ({
  site: options.site,
  configFile: null,
  rules: [...RULES],
  env: {
    FLOWERGATE_UPSTREAM: typeof options.upstream === 'string' ? options.upstream : options.upstream.url,
    // Flower's own spelling, without slashes; the hosts the tests reach the gate as (so `next` may name them).
    FLOWERGATE_URL_PREFIX: PREFIX.slice(1),
    FLOWERGATE_ALLOWED_HOSTS: '127.0.0.1,localhost,flower.example,ops.example.com',
    ...options.env,
  },
  t: options.t,
});

/** flowergate in sidecar mode in this process; the main server is created exactly as src/serve.ts does. */
export async function startGate(options: GateOptions): Promise<InProcessGate> {
  const gate = await startFlowergateInProcess(gateOptions(options));
  return { ...gate, metrics: () => gate.registry.metrics() };
}

/** `node src/cli.ts serve` configured only through FLOWERGATE_* variables, as in a container. */
export function startGateProcess(options: GateOptions): Promise<GateProcess> {
  return startFlowergateProcess(gateOptions(options));
}

/** The value of one sample line in Prometheus text, e.g. `flowergate_proxy_upstream_errors_total{kind="timeout"}`. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/**
 * For a test file whose tests each start their own gate: one Django site and one upstream under PREFIX,
 * built on first use and stopped after the file's last test, with a superuser's session cookie.
 */
export const sharedSiteAndUpstream = () =>
  shared(async (t) => {
    const [site, flower] = await Promise.all([
      startDjangoSite({ t }),
      startFlowerUpstream({ prefix: PREFIX.slice(1), t }),
    ]);
    return { site, flower, root: await site.cookie('root') };
  });
