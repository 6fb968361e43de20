import { createServer, type Server, type ServerResponse } from 'node:http';
import { flushCompileCache } from 'node:module';
import { createApp } from './app.ts';
import { loadConfig } from './config/load.ts';
import { openDatabase } from './django/database/open-database.ts';
import { configSecrets, summarizeConfig } from './log/config-summary.ts';
import { createLogger } from './log/logger.ts';
import { policyProblems } from './policy/policy.ts';

export interface ServeOptions {
  readonly configFile?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** `flowergate serve`: load and validate configuration once, listen on both ports, drain on SIGTERM. */
export async function serve(options: ServeOptions): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file: options.configFile, env: options.env });
    const problems = policyProblems(config.policy);
    if (problems.length)
      throw new Error(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  } catch (error) {
    process.stderr.write(`flowergate: ${(error as Error).message}\n`);
    return 2;
  }
  const logger = createLogger({
    level: config.log.level,
    secrets: configSecrets(config),
    redactKeys: [config.django.sessionCookieName],
  });
  // Loaded only when configured: the Kubernetes client is large, and forward-auth mode needs no proxy.
  let createKube: Parameters<typeof createApp>[0]['createKube'];
  if (config.kubernetes.tokenAuth) {
    const { createKubeGate } = await import('./kube/kube-gate.ts');
    createKube = ({ metrics }) => createKubeGate({ config, metrics });
  }
  const sidecar = config.upstream ? (await import('./proxy/sidecar.ts')).createSidecarProxy : undefined;
  let app: ReturnType<typeof createApp>;
  try {
    app = createApp({
      config,
      logger,
      database: await openDatabase(config),
      ...(createKube ? { createKube } : {}),
      ...(sidecar ? { createSidecar: sidecar } : {}),
    });
  } catch (error) {
    // e.g. token auth on without a cluster to talk to: say so and stop, as for any configuration error.
    process.stderr.write(`flowergate: ${(error as Error).message}\n`);
    return 2;
  }

  const mainServer = createServer(
    { requestTimeout: 30_000, headersTimeout: 15_000, maxHeaderSize: 16 * 1024 },
    app.handler,
  );
  mainServer.keepAliveTimeout = 65_000; // longer than typical proxy idle timeouts, so they close first
  if (app.sidecar) mainServer.on('upgrade', app.sidecar.handleUpgrade);
  const adminServer = createServer({ requestTimeout: 10_000 }, app.admin.callback());

  await Promise.all([listen(mainServer, config.listen), listen(adminServer, config.adminListen)]);
  app.readiness.start();
  // Everything serving needs is loaded now: write the compile cache (bin/flowergate.js) at once
  // rather than at exit, so the next start (a restart, the next pod) finds it.
  flushCompileCache?.();
  logger.info(
    { config: summarizeConfig(config) },
    `flowergate listening on ${config.listen} (admin ${config.adminListen})`,
  );

  return await new Promise<number>((resolve) => {
    let stopping = false;
    // Node's close() leaves keep-alive connections open until their idle timeout (65 s), and their
    // responses still say keep-alive. So after SIGTERM every response says `Connection: close`, and
    // each connection is closed as soon as its last response is done: clients reconnect elsewhere
    // instead of reusing a connection that is about to go, and the process exits once work is done.
    const open = new Set<ServerResponse>();
    mainServer.prependListener('request', (_req, res: ServerResponse) => {
      if (stopping) res.shouldKeepAlive = false;
      open.add(res);
      res.once('close', () => {
        open.delete(res);
        if (stopping) setImmediate(() => mainServer.closeIdleConnections());
      });
    });
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: readiness off, draining in-flight requests');
      app.readiness.markShuttingDown();
      for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
      const deadline = config.proxy.shutdownTimeout * 1000;
      const closed = new Promise<void>((done) => mainServer.close(() => done()));
      mainServer.closeIdleConnections();
      // The drain closes open WebSockets at the deadline itself; the margin lets it do so before we cut everything.
      await Promise.race([
        Promise.all([closed, app.sidecar?.drain(deadline)]),
        new Promise((done) => setTimeout(done, deadline + 1000).unref()),
      ]);
      mainServer.closeAllConnections();
      await new Promise<void>((done) => adminServer.close(() => done()));
      adminServer.closeAllConnections();
      await app.close();
      logger.info('stopped');
      resolve(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

function listen(server: Server, hostPort: string): Promise<void> {
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(colon + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
