// The attacks of issue 14 as data: each is a hostile request and its honest twin, put through every topology
// (attacks.test.ts). The hostile one must be refused for one of `refusedAs` and never reach Flower; the twin
// must reach Flower, so a gate that refuses everything fails. Add the next attack here.

import { FAKE_TASK_ID } from '../support/flower-upstream.ts';

export const PREFIX = '/flower';

/** Where a request goes: a proxy in front of flowergate and Flower, or flowergate as the sidecar. */
export type TopologyKind = 'nginx' | 'caddy' | 'sidecar';

export interface AttackRequest {
  /** Whose Django session rides along; null: none. */
  user: 'root' | 'staff' | null;
  method: string;
  /** Request-target exactly as sent. */
  target: string;
  /** Headers on top of a same-origin `Origin` (`null` removes one); `url` is the topology's own origin. */
  headers?: (url: string) => Record<string, string | null>;
}

export interface Attack {
  /** The behaviour, as a test title: what is refused, and what still passes. */
  title: string;
  hostile: AttackRequest;
  /** Acceptable reasons: a topology may see the trick differently (a proxy overwrites some headers). */
  refusedAs: readonly string[];
  honest: AttackRequest;
  /** Default: every topology. */
  only?: readonly TopologyKind[];
}

const REVOKE = `${PREFIX}/api/task/revoke/${FAKE_TASK_ID}`;

/** Every original-request header a client could forge, all claiming a harmless read. */
const forgedOriginal = (url: string): Record<string, string> => ({
  'X-Original-URL': `${url}${PREFIX}/tasks`,
  'X-Original-Method': 'GET',
  'X-Original-URI': `${PREFIX}/tasks`,
  'X-Forwarded-Uri': `${PREFIX}/tasks`,
  'X-Forwarded-Method': 'GET',
  'X-Forwarded-Host': new URL(url).host,
  'X-Forwarded-Proto': 'http',
});

export const ATTACKS: readonly Attack[] = [
  {
    title: 'staff POSTing revoke while every X-Original-*/X-Forwarded-* header claims GET /tasks is refused',
    hostile: { user: 'staff', method: 'POST', target: REVOKE, headers: forgedOriginal },
    refusedAs: ['bad_request', 'not_superuser'],
    honest: { user: 'root', method: 'POST', target: REVOKE },
  },
  {
    title:
      'a superuser POSTing revoke while the headers claim GET /tasks is refused too (the claim is checked, not trusted)',
    hostile: { user: 'root', method: 'POST', target: REVOKE, headers: forgedOriginal },
    refusedAs: ['bad_request'],
    honest: { user: 'root', method: 'POST', target: REVOKE },
    only: ['nginx', 'caddy'],
  },
  ...['..', '%2e%2e', '%2E.', '.%2e'].map(
    (dots): Attack => ({
      title: `dot segments (${dots}) from revoke back to the tasks table are refused as ambiguous`,
      hostile: {
        user: 'staff',
        method: 'POST',
        target: `${PREFIX}/api/task/revoke/x/${dots}/${dots}/${dots}/${dots}/tasks/datatable`,
      },
      refusedAs: ['ambiguous_path'],
      honest: { user: 'staff', method: 'POST', target: `${PREFIX}/tasks/datatable` },
    }),
  ),
  {
    title: "the issue's /api/task/info/x/../../../../dashboard is refused as ambiguous",
    hostile: { user: 'staff', method: 'GET', target: `${PREFIX}/api/task/info/x/../../../../dashboard` },
    refusedAs: ['ambiguous_path'],
    honest: { user: 'staff', method: 'GET', target: `${PREFIX}/api/task/info/${FAKE_TASK_ID}` },
  },
  {
    title:
      "under --url_prefix=flower the README's example policy lets staff read the tasks table, not revoke",
    hostile: { user: 'staff', method: 'POST', target: REVOKE },
    refusedAs: ['not_superuser'],
    honest: { user: 'staff', method: 'GET', target: `${PREFIX}/tasks` },
  },
  {
    title: 'under --url_prefix=flower a path outside the prefix is refused, and /healthcheck needs no login',
    hostile: { user: 'staff', method: 'GET', target: '/tasks' },
    refusedAs: ['outside_prefix'],
    honest: { user: null, method: 'GET', target: `${PREFIX}/healthcheck` },
  },
  {
    title: 'Origin: null is cross-site, whatever the Referer says',
    hostile: {
      user: 'root',
      method: 'POST',
      target: REVOKE,
      headers: (url) => ({ Origin: 'null', Referer: `${url}${PREFIX}/task/${FAKE_TASK_ID}` }),
    },
    refusedAs: ['csrf_origin_mismatch'],
    honest: {
      user: 'root',
      method: 'POST',
      target: REVOKE,
      headers: (url) => ({ Origin: null, Referer: `${url}${PREFIX}/task/${FAKE_TASK_ID}` }),
    },
  },
  {
    title: 'a cross-site POST is refused even for a superuser',
    hostile: {
      user: 'root',
      method: 'POST',
      target: REVOKE,
      headers: () => ({ Origin: 'http://evil.example' }),
    },
    refusedAs: ['csrf_origin_mismatch'],
    honest: { user: 'root', method: 'POST', target: REVOKE },
  },
  {
    title: 'a Host outside FLOWERGATE_ALLOWED_HOSTS is refused before any session lookup',
    hostile: {
      user: 'root',
      method: 'GET',
      target: `${PREFIX}/tasks`,
      headers: () => ({ Host: 'evil.example' }),
    },
    refusedAs: ['disallowed_host'],
    honest: { user: 'root', method: 'GET', target: `${PREFIX}/tasks` },
  },
];

/** The status a client sees for a refusal, by reason. */
const STATUS: Record<string, number> = {
  bad_request: 400,
  ambiguous_path: 400,
  disallowed_host: 400,
  outside_prefix: 404,
  not_superuser: 403,
  not_staff: 403,
  csrf_origin_mismatch: 403,
};

/** nginx's auth_request understands only 401 and 403 from the auth service; any other refusal is its 500. */
export function statusSeen(kind: TopologyKind, reason: string): number {
  const status = STATUS[reason];
  if (status === undefined) throw new Error(`no status known for reason ${reason}`);
  return kind === 'nginx' && status !== 401 && status !== 403 ? 500 : status;
}
