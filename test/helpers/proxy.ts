// A loopback TCP proxy in front of the S3 server that counts HTTP requests and can add latency,
// standing in for the network between a dev box and its object store (15 ms is a typical
// same-region round trip). It forwards bytes unchanged; nothing about S3 is faked. For fault
// tests it can also misbehave the ways a real network does: slow down (setDelay), get stuck
// mid-request with its connections open (hold/release), and go away and come back (down/up).
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface Proxy {
  port: number;
  endpoint: string;
  /** Request lines seen so far, e.g. "GET /models?delimiter=%2F&max-keys=1000&prefix=flat%2F HTTP/1.1". */
  requests: string[];
  /** Bytes the server sent back through the proxy (headers and bodies): what crossed the "network". */
  bytesDown(): number;
  /** Latency added to every chunk, each way, from now on (chunks already on their way keep theirs). */
  setDelay(ms: number): void;
  /**
   * The endpoint is stuck: bytes are taken in but passed on in neither direction, and every
   * connection (old and new) stays open, as with a server that hangs mid-request.
   */
  hold(): void;
  /** Passes on what hold() kept, in order, and forwards normally again. */
  release(): void;
  /** The endpoint goes away: the port stops listening (new connections are refused) and open ones are reset. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startProxy(targetPort: number, delayMs = 0): Promise<Proxy> {
  const requests: string[] = [];
  let down = 0;
  let delay = delayMs;
  let held: (() => void)[] | undefined;
  const sockets = new Set<Socket>();
  // Held chunks wait in one queue, so release() passes them on in the order they came.
  const pass = (fn: () => void) => (held ? held.push(fn) : fn());
  const later = (fn: () => void) => (delay > 0 ? setTimeout(() => pass(fn), delay) : pass(fn));
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      for (const m of chunk.toString('latin1').matchAll(/^(GET|PUT|POST|HEAD|DELETE) [^\r\n]+/gm)) requests.push(m[0]);
      later(() => upstream.writable && upstream.write(chunk));
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
  const listen = (port: number) =>
    new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', fail);
        ok();
      });
    });
  let listening = true;
  const close = () =>
    new Promise<void>((ok) => {
      // resetAndDestroy sends an RST, as a server that crashed or a dropped route would.
      for (const s of sockets) s.resetAndDestroy();
      sockets.clear();
      if (!listening) return ok();
      listening = false;
      server.close(() => ok());
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    bytesDown: () => down,
    setDelay: (ms) => void (delay = ms),
    hold: () => void (held ??= []),
    release: () => {
      const queue = held ?? [];
      held = undefined;
      for (const fn of queue) fn();
    },
    down: () => {
      held = undefined; // what was held dies with the connections
      return close();
    },
    up: async () => {
      if (listening) return;
      await listen(port);
      listening = true;
    },
    stop: () => {
      held = undefined;
      return close();
    },
  };
}
