// The baselines' servers, on the same Node binary as flowergate:
//
//   node bench/servers/bare.ts PORT empty      a bare node:http server answering 200 with no body (the
//                                              ceiling, and the "checks nothing" auth backend behind nginx)
//   node bench/servers/bare.ts PORT upstream   a fast static upstream (a Flower stand-in): 200 with a
//                                              1 KiB body; GET /large?mib=N streams N MiB in 64 KiB chunks

import { createServer } from 'node:http';
import { flushCompileCache } from 'node:module';

const port = Number(process.argv[2]);
const mode = process.argv[3] ?? 'empty';
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: bare.ts PORT [empty|upstream]');

const SMALL = Buffer.alloc(1024, 'x');
const CHUNK = Buffer.alloc(64 * 1024, 'y');

const server = createServer((req, res) => {
  if (mode === 'empty') {
    res.writeHead(200, { 'Content-Length': '0' });
    res.end();
    return;
  }
  if (req.url?.startsWith('/large')) {
    const mib = Number(new URL(req.url, 'http://x').searchParams.get('mib') ?? '64');
    let left = mib * 16; // 64 KiB chunks
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(mib * 1024 * 1024),
    });
    const pump = () => {
      while (left > 0) {
        left--;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  req.resume();
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(SMALL.length) });
  res.end(SMALL);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  flushCompileCache(); // the bench's warm compile cache, as flowergate's (bench/run.ts)
  process.stdout.write(`listening on ${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
