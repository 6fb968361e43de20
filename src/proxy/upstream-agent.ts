import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';

export interface UpstreamAgentOptions {
  readonly upstream: URL;
  readonly maxSockets: number;
  /** How long an idle connection is kept for reuse; 0 turns reuse off. */
  readonly keepAliveMs: number;
  readonly connectTimeoutMs: number;
}

/** The error a connection attempt fails with when it takes longer than the connect timeout. */
export function connectTimeoutError(ms: number): Error {
  return Object.assign(new Error(`connecting to the upstream took longer than ${ms} ms`), {
    code: 'UND_ERR_CONNECT_TIMEOUT',
  });
}

/**
 * One keep-alive agent for every proxied request: bounded connections, LIFO reuse (the warmest
 * socket first, so surplus ones age out), and a connect timeout Node's agent does not have itself.
 * Every connection may wait in the pool: a smaller free pool closed the surplus of each burst (a
 * dashboard's parallel requests) only to open it again for the next one, and that churn was the
 * sidecar's tail (docs/benchmarks.md). Idle ones still close after `keepAliveMs`.
 */
export function createUpstreamAgent(options: UpstreamAgentOptions): HttpAgent {
  const settings = {
    keepAlive: options.keepAliveMs > 0,
    maxSockets: options.maxSockets,
    maxFreeSockets: options.maxSockets,
    scheduling: 'lifo' as const,
    // For free sockets only: how long one may sit idle in the pool before it is closed.
    timeout: options.keepAliveMs > 0 ? options.keepAliveMs : undefined,
  };
  const agent = options.upstream.protocol === 'https:' ? new HttpsAgent(settings) : new HttpAgent(settings);
  const base = agent.createConnection.bind(agent);
  agent.createConnection = (connectOptions, callback) => {
    const socket = base(connectOptions, callback) as Socket;
    if (!socket.connecting) return socket;
    const timer = setTimeout(
      () => socket.destroy(connectTimeoutError(options.connectTimeoutMs)),
      options.connectTimeoutMs,
    );
    timer.unref();
    const clear = () => clearTimeout(timer);
    socket.once('connect', clear);
    socket.once('close', clear);
    return socket;
  };
  return agent;
}
