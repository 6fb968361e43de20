import test from 'ava';
import { createLogger } from '../../src/log/logger.ts';
import { logRequestError } from '../../src/log/request-error.ts';
import { captureLines } from './capture.ts';

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a client that went away is a debug line; any other request error is an error line', (t) => {
  const out = captureLines();
  const logger = createLogger({ level: 'debug', destination: out });
  logRequestError(logger, coded('socket hang up', 'ECONNRESET'));
  logRequestError(logger, coded('write EPIPE', 'EPIPE'));
  logRequestError(logger, coded('Premature close', 'ERR_STREAM_PREMATURE_CLOSE'));
  logRequestError(logger, coded('boom', 'ERR_SOMETHING'));
  logRequestError(logger, new TypeError('cannot read properties of undefined'));
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
  logRequestError(createLogger({ level: 'info', destination: out }), coded('socket hang up', 'ECONNRESET'));
  t.deepEqual(out.lines, []);
});
