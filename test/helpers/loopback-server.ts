/**
 * Starts a test's HTTP server on 127.0.0.1 (any free port) and keeps its connections, so close() ends them too:
 * a keep-alive client would otherwise hold server.close() open until it lets go.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Listening {
  url: string;
  port: number;
  /** connections open right now */
  connections(): number;
  /** destroys every connection, then closes the server */
  close(): Promise<void>;
}

export async function listenLoopback(server: Server): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
