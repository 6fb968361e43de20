// The Django data every row reads (users and sessions made as Django makes them) and the requests sent:
// what ingress-nginx sends to the auth endpoint, and what a browser sends to Flower.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type BenchData, makeBenchData, writeSqlite } from './fixtures.ts';
import type { RequestSource, RequestSpec } from './load.ts';
import { dir, secretKey } from './servers.ts';
import { log, settings } from './settings.ts';

log(`making ${settings.sessions} Django users and sessions…`);
export const data: BenchData = makeBenchData(secretKey, settings.sessions);
const sqlitePath = join(dir, 'db.sqlite3');
writeSqlite(sqlitePath, data);
export const sqliteUrl = `sqlite:///${sqlitePath}`;
const csrf = randomBytes(16).toString('hex');

const BROWSER_HEADERS = {
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  Accept: 'application/json, text/javascript, */*; q=0.01',
  'Accept-Language': 'en-US,en;q=0.5',
  'X-Requested-With': 'XMLHttpRequest',
};
const FLOWER_PATH = '/api/workers?refresh=1';
const cookieFor = (key: string) => `csrftoken=${csrf}; sessionid=${key}`;

/** What ingress-nginx sends to `auth-url` for a Flower dashboard poll (see test/support/nginx.ts). */
export const authRequest = (sessionKey: string): RequestSpec => ({
  path: '/_flowergate/auth/nginx',
  headers: {
    'X-Request-ID': '4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a',
    'X-Original-URL': `http://flower.example.com${FLOWER_PATH}`,
    'X-Original-Method': 'GET',
    'X-Sent-From': 'nginx-ingress-controller',
    'X-Real-IP': '10.0.0.7',
    'X-Forwarded-For': '10.0.0.7',
    'X-Auth-Request-Redirect': FLOWER_PATH,
    ...BROWSER_HEADERS,
    Cookie: cookieFor(sessionKey),
  },
});
/** What a browser sends to Flower (through nginx or the sidecar). */
export const pageRequest = (sessionKey: string, path = FLOWER_PATH): RequestSpec => ({
  path,
  headers: { ...BROWSER_HEADERS, Cookie: cookieFor(sessionKey) },
});
export const superuserKey = data.sessionKeys[0]!;
export const one = (spec: RequestSpec): RequestSource => ({ kind: 'list', requests: [spec] });
