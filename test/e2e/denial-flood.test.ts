// A flood of made-up session keys (well-formed, so each one is a store miss and a cached denial) against a
// small verdict cache: a real Django user's cached allow must survive it, and garbage must cost no query.
import { randomBytes } from 'node:crypto';
import { djangoTool, request, startDjangoSite, startFlowergateInProcess } from '../support/e2e.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';
import { toolTest } from '../support/require-tool.ts';

const maybe = await toolTest(djangoTool());

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const djangoShapedKey = () =>
  Array.from(randomBytes(32), (byte) => ALPHABET[byte % ALPHABET.length]).join('');

maybe(
  "a flood of unknown session keys neither evicts a real user's cached verdict nor makes garbage cost a query",
  async (t) => {
    const site = await startDjangoSite({ t });
    const cookie = await site.cookie('root');
    const fg = await startFlowergateInProcess({
      site,
      t,
      env: {
        FLOWERGATE_CACHE_MAX_ENTRIES: '16',
        FLOWERGATE_CACHE_ALLOW_TTL: '60',
        FLOWERGATE_CACHE_DENY_TTL: '60',
      },
    });
    const ask = (sessionCookie: string) =>
      request(`${fg.url}/_flowergate/auth/nginx`, {
        headers: {
          'x-original-url': 'https://flower.example.com/api/workers',
          'x-original-method': 'GET',
          cookie: sessionCookie,
        },
      });
    const counts = async () => {
      // Only the two families this test reads (the runtime gauges can print prom-client's `Nan`).
      const wanted = /^flowergate_(decision_cache_total|session_store_duration_seconds_count)\b/;
      const text = (await fg.registry.metrics()).split('\n').filter((line) => wanted.test(line));
      const samples = parsePrometheusText(text.join('\n'));
      const value = (name: string, labels: Record<string, string>) =>
        samples
          .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
          .reduce((sum, s) => sum + s.value, 0);
      return {
        hits: value('flowergate_decision_cache_total', { result: 'hit' }),
        queries: value('flowergate_session_store_duration_seconds_count', {}),
      };
    };

    t.is((await ask(cookie)).status, 200);
    for (let i = 0; i < 200; i++) t.is((await ask(`sessionid=${djangoShapedKey()}`)).status, 401);
    const before = await counts();
    t.is((await ask(cookie)).status, 200);
    const after = await counts();
    t.is(after.hits - before.hits, 1, "the superuser's verdict was still cached after 200 denials");
    t.is(after.queries, before.queries, 'and answered without a query');

    for (let i = 0; i < 50; i++)
      t.is((await ask(`sessionid=${randomBytes(48).toString('base64url')}`)).status, 401);
    t.is(
      (await counts()).queries,
      after.queries,
      'garbage longer than a session key never reaches the store',
    );
  },
);
