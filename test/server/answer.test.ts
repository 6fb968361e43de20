import test from 'ava';
import type { PipelineResult } from '../../src/decision/pipeline.ts';
import type { OriginalRequest } from '../../src/decision/request.ts';
import { type AnswerOptions, denialAnswer } from '../../src/server/answer.ts';
import { createRedirectCheck } from '../../src/server/safe-redirect.ts';

const options = (extra: Partial<AnswerOptions> = {}): AnswerOptions => ({
  loginUrl: 'https://app.example.com/accounts/login/',
  logoutUrl: null,
  bearerChallenge: false,
  headerNames: {
    user: 'X-Auth-Request-User',
    email: 'X-Auth-Request-Email',
    groups: 'X-Auth-Request-Groups',
  },
  identityHeaders: () => ({}),
  redirectCheck: createRedirectCheck([], (host) => host === 'flower.example.com'),
  ...extra,
});

const request = (extra: Partial<OriginalRequest> = {}): OriginalRequest => ({
  dialect: 'proxy',
  requestId: 'r',
  method: 'GET',
  scheme: 'https',
  host: 'flower.example.com',
  uri: '/broker',
  client: null,
  cookie: 'sessionid=x',
  authorization: undefined,
  accept: 'application/json',
  xRequestedWith: undefined,
  origin: undefined,
  referer: undefined,
  websocket: false,
  ...extra,
});

const anonymous: PipelineResult = {
  decision: 'unauthenticated',
  reason: 'no_cookie',
  principal: null,
  match: null,
  cache: 'miss',
  path: '/broker',
};

test('a 401 names the Bearer scheme only when service-account tokens are accepted', (t) => {
  for (const dialect of ['proxy', 'forward', 'envoy', 'nginx'] as const) {
    const off = denialAnswer(anonymous, request({ dialect }), options());
    t.is(off.status, 401, dialect);
    t.false('WWW-Authenticate' in off.headers, `${dialect}: no token auth, no Bearer challenge`);
    const on = denialAnswer(anonymous, request({ dialect }), options({ bearerChallenge: true }));
    t.is(on.headers['WWW-Authenticate'], 'Bearer realm="flowergate"', dialect);
  }
});

const staff: PipelineResult = {
  decision: 'forbidden',
  reason: 'not_superuser',
  principal: {
    kind: 'django',
    identity: {
      userId: '2',
      username: 'staff <b>',
      email: '',
      isSuperuser: false,
      isStaff: true,
      isActive: true,
      viaFallbackKey: false,
      groups: async () => [],
      hasPerm: async () => false,
    },
  },
  match: null,
  cache: 'miss',
  path: '/broker',
};

test('the 403 page links to signing in as another user, back to this page, and to the configured logout', (t) => {
  const browser = request({ accept: 'text/html' });
  const page = denialAnswer(staff, browser, options({ logoutUrl: 'https://app.example.com/logout/' })).body;
  t.regex(page, /signed in as <strong>staff &lt;b&gt;<\/strong>/);
  t.true(
    page.includes(
      '<a href="https://app.example.com/accounts/login/?next=https%3A%2F%2Fflower.example.com%2Fbroker">Sign in as another user</a>',
    ),
    page,
  );
  t.true(page.includes('<a href="https://app.example.com/logout/">Log out</a>'));

  // A host that is not allowed never becomes `next`; no logout URL, no logout link.
  const spoofed = denialAnswer(staff, request({ accept: 'text/html', host: 'evil.example' }), options()).body;
  t.true(spoofed.includes('<a href="https://app.example.com/accounts/login/">Sign in as another user</a>'));
  t.false(spoofed.includes('Log out'));
  // Without a login URL there is nowhere to send anyone: the page says so in words.
  const bare = denialAnswer(staff, browser, options({ loginUrl: null })).body;
  t.false(bare.includes('<a '));
  t.regex(bare, /sign in as another user/);
});

test('an XHR refusal is JSON with a sentence Flower can show in its alert', (t) => {
  const xhr = request({ method: 'POST', uri: '/api/task/revoke/1', xRequestedWith: 'XMLHttpRequest' });
  const match = {
    rule: 'flower-read-only-staff: act POST',
    requirement: { kind: 'superuser' },
    requirementText: 'superuser',
  } as const;
  const answer = denialAnswer({ ...staff, match }, xhr, options());
  t.is(answer.status, 403);
  t.deepEqual(JSON.parse(answer.body), {
    decision: 'forbidden',
    reason: 'not_superuser',
    rule: 'flower-read-only-staff: act POST',
    message:
      'flowergate refused this request: not_superuser (rule “flower-read-only-staff: act POST” needs superuser)',
  });
});
