import test from 'ava';
import { createFailureLog } from '../../src/log/failure-log.ts';
import { createLogger } from '../../src/log/logger.ts';
import { logRequestError } from '../../src/log/request-error.ts';
import { captureLines } from './capture.ts';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a client that went away is a debug line; any other request error is an error line', (t) => {
  const out = captureLines();
  const logger = createLogger({ level: 'debug', destination: out });
  const failures = createFailureLog({ logger });
  logRequestError(logger, failures, coded('socket hang up', 'ECONNRESET'));
  logRequestError(logger, failures, coded('write EPIPE', 'EPIPE'));
  logRequestError(logger, failures, coded('Premature close', 'ERR_STREAM_PREMATURE_CLOSE'));
  logRequestError(logger, failures, coded('boom', 'ERR_SOMETHING'));
  logRequestError(logger, failures, new TypeError('cannot read properties of undefined'));
  t.deepEqual(
    out.records().map((r) => [r['level'], r['msg']]),
    [
      ['debug', 'client went away'],
      ['debug', 'client went away'],
      ['debug', 'client went away'],
      ['error', 'request failed'],
      ['error', 'request failed'],
    ],
  );
});

test('at the default info level a client reset leaves no line at all', (t) => {
  const out = captureLines();
  const logger = createLogger({ level: 'info', destination: out });
  logRequestError(logger, createFailureLog({ logger }), coded('socket hang up', 'ECONNRESET'));
  t.deepEqual(out.lines, []);
});

test('a request error that repeats on every request is written once, then counted by its code', (t) => {
  const out = captureLines();
  const logger = createLogger({ level: 'info', destination: out });
  const failures = createFailureLog({ logger });
  for (let i = 0; i < 1000; i++) logRequestError(logger, failures, coded(`boom ${i}`, 'ERR_SOMETHING'));
  logRequestError(logger, failures, new TypeError('another fault'));
  failures.flush();
  t.deepEqual(
    out.records().map((r) => [r['failure'], r['leftOut'] ?? null, r['msg']]),
    [
      ['ERR_SOMETHING', null, 'request failed'],
      ['TypeError', null, 'request failed'],
      ['ERR_SOMETHING', 999, out.records()[2]?.['msg']],
    ],
  );
  t.regex(String(out.records()[2]?.['msg']), /^999 more ERR_SOMETHING failures were not logged/);
});
