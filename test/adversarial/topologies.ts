// Every way flowergate stands in front of Flower, started together on loopback: real nginx configured as
// ingress-nginx does it (auth-url, auth-signin) and as a plain `auth_request` recipe, real Caddy `forward_auth`
// pointed at /auth/forward and at /auth/nginx, and the sidecar. Flower (the Tornado stand-in) runs with
// --url_prefix=flower; flowergate with FLOWERGATE_URL_PREFIX=flower, FLOWERGATE_ALLOWED_HOSTS and the README's
// example policy.

import { startCaddy } from '../support/caddy.ts';
import { type DjangoSite, type Flowergate, startDjangoSite, startFlowergate } from '../support/e2e.ts';
import { type FlowerUpstream, startFlowerUpstream } from '../support/flower-upstream.ts';
import { startNginx } from '../support/nginx.ts';
import type { Teardown } from '../support/processes.ts';
import type { TopologyKind } from './attacks.ts';

/** Caddy's forward_auth, told to speak the nginx endpoint's header family (it sets X-Forwarded-* itself). */
const CADDY_AS_NGINX = [
  '\t\theader_up X-Original-URL {http.request.scheme}://{http.request.hostport}{http.request.uri}',
  '\t\theader_up X-Original-Method {http.request.method}',
].join('\n');

export const GATE_ENV = { FLOWERGATE_URL_PREFIX: 'flower', FLOWERGATE_ALLOWED_HOSTS: '127.0.0.1,localhost' };

export interface Topology {
  name: 'ingress-nginx' | 'nginx auth_request' | 'Caddy → /auth/forward' | 'Caddy → /auth/nginx' | 'sidecar';
  kind: TopologyKind;
  /** Where the client connects. */
  url: string;
}

export interface Topologies {
  site: DjangoSite;
  flower: FlowerUpstream;
  /** The forward-auth flowergate the proxies ask. */
  fg: Flowergate;
  sidecar: Flowergate;
  topologies: Topology[];
}

export async function startTopologies(t: Teardown): Promise<Topologies> {
  const site = await startDjangoSite({ t });
  const flower = await startFlowerUpstream({ prefix: 'flower', t });
  const fg = await startFlowergate({ site, env: GATE_ENV, t });
  const sidecar = await startFlowergate({ site, env: { ...GATE_ENV, FLOWERGATE_UPSTREAM: flower.url }, t });
  const authUrl = `${fg.url}/_flowergate/auth/nginx`;
  const upstream = flower.url;
  const [ingress, plain, caddyForward, caddyNginx] = await Promise.all([
    startNginx({ authUrl, upstream, signinUrl: site.loginUrl, t }),
    startNginx({ recipe: 'auth_request', authUrl, upstream, t }),
    startCaddy({ auth: fg.address, upstream, t }),
    startCaddy({
      auth: fg.address,
      uri: '/_flowergate/auth/nginx',
      snippets: { forwardAuth: CADDY_AS_NGINX },
      upstream,
      t,
    }),
  ]);
  const topologies: Topology[] = [
    { name: 'ingress-nginx', kind: 'nginx', url: ingress.url },
    { name: 'nginx auth_request', kind: 'nginx', url: plain.url },
    { name: 'Caddy → /auth/forward', kind: 'caddy', url: caddyForward.url },
    { name: 'Caddy → /auth/nginx', kind: 'caddy', url: caddyNginx.url },
    { name: 'sidecar', kind: 'sidecar', url: sidecar.url },
  ];
  return { site, flower, fg, sidecar, topologies };
}

/** The requests Flower received carrying `X-Attack-Id: mark`. */
export const marked = async (flower: FlowerUpstream, mark: string) =>
  (await flower.requests()).filter((r) => r.headers['x-attack-id'] === mark);
