import test from 'ava';
import { createCsrfGuard } from '../../src/decision/csrf.ts';
import type { OriginalRequest } from '../../src/decision/request.ts';

const request = (
  method: string,
  headers: { origin?: string; referer?: string },
  websocket = false,
): OriginalRequest => ({
  dialect: 'forward',
  requestId: 'r',
  method,
  scheme: 'https',
  host: 'flower.example.com',
  uri: '/api/task/revoke/1',
  client: null,
  cookie: undefined,
  authorization: undefined,
  accept: undefined,
  xRequestedWith: undefined,
  origin: headers.origin,
  referer: headers.referer,
  websocket,
});
const guard = createCsrfGuard(['https://admin.example.com']);

test('safe methods pass without an Origin', (t) => {
  t.true(guard(request('GET', {})));
  t.true(guard(request('HEAD', {})));
});
test('an unsafe request from the same origin passes', (t) => {
  t.true(guard(request('POST', { origin: 'https://flower.example.com' })));
  t.true(guard(request('POST', { origin: 'https://flower.example.com:443' })));
  t.true(guard(request('POST', { referer: 'https://flower.example.com/tasks' })));
});
test('a configured trusted origin passes', (t) => {
  t.true(guard(request('DELETE', { origin: 'https://admin.example.com' })));
});
test('a cross-site unsafe request is refused', (t) => {
  t.false(guard(request('POST', { origin: 'https://evil.example' })));
  t.false(guard(request('POST', { origin: 'http://flower.example.com' })));
  t.false(guard(request('POST', { referer: 'https://evil.example/flower.example.com' })));
  t.false(guard(request('POST', { origin: 'null' })));
});
test('an unsafe request with neither Origin nor Referer is refused', (t) => {
  t.false(guard(request('POST', {})));
});

test('Origin: null is cross-site even when the Referer names the own origin (as Django)', (t) => {
  t.false(guard(request('POST', { origin: 'null', referer: 'https://flower.example.com/tasks' })));
  t.true(guard(request('POST', { referer: 'https://flower.example.com/tasks' })));
});
test('a WebSocket handshake is held to the unsafe-method rule though its method is GET', (t) => {
  t.false(guard(request('GET', { origin: 'https://evil.example' }, true)));
  t.false(guard(request('GET', { origin: 'null' }, true)));
  t.false(guard(request('GET', {}, true)));
  t.true(guard(request('GET', { origin: 'https://flower.example.com' }, true)));
  t.true(guard(request('GET', { origin: 'https://admin.example.com' }, true)));
});
