import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ExpiringServer {
  url: string;
  /** `METHOD /path` of every request that arrived, reset ones included. */
  seen: string[];
  /** Connections accepted so far. */
  connections(): number;
  /** Resolves once the connection that carried the latest request has been idle for the keep-alive time. */
  lastConnectionExpired(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A server with a 100 ms keep-alive that does not announce it (it sends its own Connection header, so
 * Node adds no Keep-Alive one, as many servers do not): a connection idle that long is expired, and the
 * next request that arrives on it is met with a reset instead of an answer — what a client sees when the
 * server's close and its request cross on the wire. Driven by the server's own idle timer, no sleeps.
 * `respond` answers the requests that get through (`Connection: keep-alive` is already set).
 */
export function startExpiringServer(respond: (req: IncomingMessage, res: ServerResponse) => void): Promise<ExpiringServer> {
  const seen: string[] = [];
  const expired = new WeakSet<Socket>();
  const waiting = new Map<Socket, () => void>();
  let latest: Socket | undefined;
  let connections = 0;
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    latest = req.socket;
    if (expired.has(req.socket)) {
      req.socket.resetAndDestroy();
      return;
    }
    res.setHeader('connection', 'keep-alive');
    respond(req, res);
  });
  server.keepAliveTimeout = 100;
  server.keepAliveTimeoutBuffer = 0;
  // With a listener here the server does not close an idle connection itself: the next request on it does.
  server.on('timeout', (socket: Socket) => {
    expired.add(socket);
    waiting.get(socket)?.();
  });
  server.on('connection', () => (connections += 1));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
        seen,
        connections: () => connections,
        lastConnectionExpired() {
          const socket = latest;
          if (!socket) return Promise.reject(new Error('no request has arrived yet'));
          if (expired.has(socket)) return Promise.resolve();
          return new Promise<void>((done) => waiting.set(socket, done));
        },
        close() {
          server.closeAllConnections();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    }),
  );
}
