// What reaches Flower through the sidecar, seen by the real Tornado upstream: a client's copies of identity
// headers never do (flowergate's own configured names, and the ones other proxies set, in both spellings);
// a service-account token flowergate consumed never does. Each hostile request has an honest twin.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMON_IDENTITY_HEADERS } from '../../src/proxy/request-headers.ts';
import { djangoTool, request } from '../support/e2e.ts';
import type { FlowerUpstream } from '../support/flower-upstream.ts';
import { CI_JOB, CI_TOKEN, startApi } from '../support/kube/harness.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX, sharedSiteAndUpstream, startGate, startGateProcess } from './harness.ts';

const maybe = await toolTest('tornado', djangoTool());

const env = sharedSiteAndUpstream();

/** The headers Flower received for the request tagged `tag` (names lower-cased). */
async function seen(flower: FlowerUpstream, tag: string): Promise<Record<string, string>> {
  const found = (await flower.requests()).filter((r) => r.query.includes(tag));
  if (found.length !== 1) throw new Error(`${found.length} requests tagged ${tag} reached Flower`);
  return found[0]!.headers;
}

maybe(
  "a client's identity headers never reach Flower, whatever their spelling; flowergate's own and unrelated ones do",
  async (t) => {
    const { site, flower, root } = await env();
    const gate = await startGate({ site, upstream: flower, t });
    const forged: Record<string, string> = {};
    for (const name of COMMON_IDENTITY_HEADERS) {
      forged[name] = 'mallory';
      forged[name.replaceAll('-', '_')] = 'mallory';
    }
    // The same as written by a client that knows which one a WSGI app would read.
    forged['Remote_User'] = 'mallory';
    forged['X-Forwarded-Groups'] = 'mallory-group';

    const forgedTag = randomUUID();
    const hostile = await request(`${gate.url}${PREFIX}/__echo?tag=${forgedTag}`, {
      headers: { cookie: root, 'x-unrelated': 'kept', ...forged },
    });
    t.is(hostile.status, 200);
    const hostileSeen = await seen(flower, forgedTag);
    t.is(hostileSeen['x-auth-request-user'], 'root', "flowergate's identity header is its own");
    t.is(hostileSeen['x-unrelated'], 'kept');
    const leaked = Object.entries(hostileSeen).filter(([, value]) => /mallory/.test(value));
    t.deepEqual(leaked, [], 'no forged value reached Flower');
    // Tornado joins the underscore spelling into the same name as the dash one: look for both.
    for (const name of ['remote-user', 'remote_user', 'x-forwarded-user', 'x_forwarded_user'])
      t.false(name in hostileSeen, name);

    const honestTag = randomUUID();
    const honest = await request(`${gate.url}${PREFIX}/__echo?tag=${honestTag}`, {
      headers: { cookie: root, 'x-unrelated': 'kept' },
    });
    t.is(honest.status, 200);
    t.like(await seen(flower, honestTag), { 'x-auth-request-user': 'root', 'x-unrelated': 'kept' });
  },
);

maybe(
  'a service-account token flowergate consumed never reaches Flower; a session request keeps its own Authorization',
  async (t) => {
    const { site, flower, root } = await env();
    // RBAC lets the CI job do anything: the token is accepted, and only what is forwarded is in question.
    const api = await startApi(t, { tokens: { [CI_TOKEN]: { user: CI_JOB } }, allow: () => true });
    const dir = mkdtempSync(join(tmpdir(), 'fg-authz-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'kubeconfig'), api.kubeconfig());
    const gate = await startGateProcess({
      site,
      upstream: flower,
      env: { FLOWERGATE_KUBERNETES_TOKEN_AUTH: 'true', KUBECONFIG: join(dir, 'kubeconfig') },
      t,
    });

    const tokenTag = randomUUID();
    const withToken = await request(`${gate.url}${PREFIX}/__echo?tag=${tokenTag}`, {
      headers: { authorization: `Bearer ${CI_TOKEN}`, accept: 'application/json' },
    });
    t.is(withToken.status, 200, withToken.body);
    const tokenSeen = await seen(flower, tokenTag);
    t.is(tokenSeen['x-auth-request-user'], CI_JOB.username, 'the token was what let it in');
    t.false('authorization' in tokenSeen, 'the token stayed with flowergate');

    // A public path lets anyone in without reading the token; it is still not Flower's to see.
    const publicTag = randomUUID();
    const health = await request(`${gate.url}${PREFIX}/healthcheck?tag=${publicTag}`, {
      headers: { authorization: `Bearer ${CI_TOKEN}` },
    });
    t.is(health.status, 200);
    t.false('authorization' in (await seen(flower, publicTag)));

    // The honest twin: a browser session with Flower's own basic-auth credentials keeps them.
    const basicTag = randomUUID();
    const basic = await request(`${gate.url}${PREFIX}/__echo?tag=${basicTag}`, {
      headers: { cookie: root, authorization: 'Basic Zmxvd2VyOmZsb3dlcg==' },
    });
    t.is(basic.status, 200);
    t.like(await seen(flower, basicTag), {
      authorization: 'Basic Zmxvd2VyOmZsb3dlcg==',
      'x-auth-request-user': 'root',
    });
  },
);
