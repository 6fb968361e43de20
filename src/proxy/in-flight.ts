import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** What is under way through the proxy, so shutdown can wait for it instead of cutting it off. */
export interface InFlight {
  readonly draining: boolean;
  /** Counts one exchange (an HTTP request, or a WebSocket handshake with `res` null) until the returned function is called. */
  begin(res: ServerResponse | null): () => void;
  /** Tracks an open WebSocket (both sockets) until either side closes; the other side is then closed too. */
  tunnel(client: Duplex, upstream: Duplex): void;
  /**
   * From now on responses close their connection (`Connection: close`), so keep-alive clients go
   * elsewhere. Resolves when nothing is under way, or at the deadline, when open WebSockets are closed.
   */
  drain(deadlineMs: number): Promise<void>;
}

export function createInFlight(): InFlight {
  const exchanges = new Set<{ readonly res: ServerResponse | null }>();
  const tunnels = new Set<readonly [Duplex, Duplex]>();
  let draining: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  const settle = () => {
    if (wake && exchanges.size === 0 && tunnels.size === 0) wake();
  };

  return {
    get draining() {
      return draining !== null;
    },
    begin(res) {
      const entry = { res };
      exchanges.add(entry);
      if (draining && res) res.shouldKeepAlive = false;
      return () => {
        exchanges.delete(entry);
        settle();
      };
    },
    tunnel(client, upstream) {
      const pair = [client, upstream] as const;
      tunnels.add(pair);
      const closed = () => {
        if (!tunnels.delete(pair)) return;
        client.destroy();
        upstream.destroy();
        settle();
      };
      client.once('close', closed);
      upstream.once('close', closed);
      if (client.destroyed || upstream.destroyed) closed();
    },
    drain(deadlineMs) {
      draining ??= new Promise<void>((resolve) => {
        for (const { res } of exchanges) if (res && !res.headersSent) res.shouldKeepAlive = false;
        const timer = setTimeout(() => {
          // WebSockets never end on their own; at the deadline they are closed, so the process can exit.
          for (const [client, upstream] of tunnels) {
            client.destroy();
            upstream.destroy();
          }
          tunnels.clear();
          wake = null;
          resolve();
        }, deadlineMs);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
        settle();
      });
      return draining;
    },
  };
}
