import test from 'ava';
import { readCookie, wsgiCookieHeader } from '../../src/django/cookie-header.ts';

const cases: [string, string, string | undefined][] = [
  ['sessionid=abc12345', 'sessionid', 'abc12345'],
  ['a=1; sessionid=first; b=2; sessionid=last', 'sessionid', 'last'],
  ['  sessionid =  spaced  ; x=y', 'sessionid', 'spaced'],
  ['sessionid="quoted\\"value"', 'sessionid', 'quoted"value'],
  ['sessionid="\\101\\102"', 'sessionid', 'AB'],
  ['sessionid="', 'sessionid', '"'],
  ['other=1', 'sessionid', undefined],
  ['sessionid', 'sessionid', undefined],
  ['sessionid=a=b=c', 'sessionid', 'a=b=c'],
  ['SESSIONID=upper', 'sessionid', undefined],
  ['', 'sessionid', undefined],
  ['sessionid=x;sessionid=', 'sessionid', ''],
];

for (const [header, name, expected] of cases) {
  test(`reads ${name} from ${JSON.stringify(header)} as Django's parse_cookie does`, (t) => {
    t.is(readCookie(header, name), expected);
  });
}

test('a chunk without "=" is a value with the empty name', (t) => {
  t.is(readCookie('lonely; sessionid=v', ''), 'lonely');
});

test('decodes non-ASCII header bytes as UTF-8 like the WSGI layer', (t) => {
  const latin1 = Buffer.from('x=é', 'utf8').toString('latin1');
  t.is(wsgiCookieHeader(latin1), 'x=é');
  t.is(wsgiCookieHeader('plain=1'), 'plain=1');
});
