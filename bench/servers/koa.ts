// A reference line for rows 2–4: Koa with @koa/router (the framework flowergate's main port runs on)
// answering 200 on the auth route with no work at all — the most any Koa-routed decision can reach.
//
//   node bench/servers/koa.ts PORT

import { createServer } from 'node:http';
import { flushCompileCache } from 'node:module';
import Router from '@koa/router';
import Koa from 'koa';

const port = Number(process.argv[2]);
const app = new Koa();
app.silent = true;
const router = new Router();
router.all('/_flowergate/auth/nginx', (ctx) => {
  ctx.status = 200;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = '';
});
app.use(router.routes());
const server = createServer(app.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  flushCompileCache(); // the bench's warm compile cache, as flowergate's (bench/run.ts)
  process.stdout.write(`listening on ${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
