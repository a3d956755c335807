// A loopback TCP proxy in front of the S3 server that counts HTTP requests and can add latency,
// standing in for the network between a dev box and its object store (15 ms is a typical
// same-region round trip). It forwards bytes unchanged; nothing about S3 is faked.
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface Proxy {
  port: number;
  endpoint: string;
  /** Request lines seen so far, e.g. "GET /models?delimiter=%2F&max-keys=1000&prefix=flat%2F HTTP/1.1". */
  requests: string[];
  /** Bytes the server sent back through the proxy (headers and bodies): what crossed the "network". */
  bytesDown(): number;
  stop(): Promise<void>;
}

export async function startProxy(targetPort: number, delayMs = 0): Promise<Proxy> {
  const requests: string[] = [];
  let down = 0;
  const sockets = new Set<Socket>();
  const later = (fn: () => void) => (delayMs > 0 ? setTimeout(fn, delayMs) : fn());
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      for (const m of chunk.toString('latin1').matchAll(/^(GET|PUT|POST|HEAD|DELETE) [^\r\n]+/gm)) requests.push(m[0]);
      later(() => upstream.write(chunk));
    });
    upstream.on('data', (chunk) => {
      down += chunk.length;
      later(() => client.writable && client.write(chunk));
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    bytesDown: () => down,
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
