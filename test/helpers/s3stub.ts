// A STUB of an S3 endpoint whose credentials are no good, on 127.0.0.1: it answers every request
// with an S3 error (by default `ExpiredToken`, as AWS does once an STS session token has run out),
// which s3rver cannot do (it ignores session tokens and never expires anything). Given the port of
// a real S3 server (s3rver), it is a front to it instead: requests are forwarded unchanged (an
// HTTP-level pass-through; the signature still names this host and port, which s3rver accepts)
// until `fail(code)` makes it answer with that error, as an endpoint does once the keys a running
// mount holds expire or are revoked; `pass()` forwards again.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The errors it can answer with: AWS's code, HTTP status and message. */
export const S3_ERRORS = {
  ExpiredToken: { status: 400, message: 'The provided token has expired.' },
  InvalidToken: { status: 400, message: 'The provided token is malformed or otherwise invalid.' },
  TokenRefreshRequired: { status: 400, message: 'The provided token must be refreshed.' },
  InvalidAccessKeyId: { status: 403, message: 'The AWS Access Key Id you provided does not exist in our records.' },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  },
  AccessDenied: { status: 403, message: 'Access Denied' },
} as const;

export type S3ErrorCode = keyof typeof S3_ERRORS;

export interface S3Stub {
  port: number;
  endpoint: string;
  /** Request lines seen so far ("GET /models?list-type=2…"), both forwarded and refused. */
  requests: string[];
  /** How many requests were answered with an error. */
  refused(): number;
  /** Answers every request from now on with this error. */
  fail(code: S3ErrorCode): void;
  /** Forwards to the real server again (only when it fronts one). */
  pass(): void;
  stop(): Promise<void>;
}

/**
 * Starts the stub. `forwardTo`: the port of a real S3 server to front (requests are forwarded until
 * `fail()`); without it every request is answered with `code` (default ExpiredToken).
 */
export async function startS3Stub(opts: { forwardTo?: number; code?: S3ErrorCode } = {}): Promise<S3Stub> {
  const requests: string[] = [];
  let failing: S3ErrorCode | undefined = opts.forwardTo === undefined ? (opts.code ?? 'ExpiredToken') : opts.code;
  let refused = 0;
  const sockets = new Set<Socket>();

  const answer = (req: IncomingMessage, res: ServerResponse, code: S3ErrorCode) => {
    refused++;
    const { status, message } = S3_ERRORS[code];
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>STUB0000</RequestId><HostId>stub</HostId></Error>`;
    // As S3 does, a HEAD gets the status and headers only (its client then knows no code).
    res.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': 'STUB0000',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, port: number) => {
    const up = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
    if (failing || opts.forwardTo === undefined) {
      // Read the body (an upload) before answering, so the client sees the error, not a reset.
      req.resume();
      req.on('end', () => answer(req, res, failing ?? 'ExpiredToken'));
      return;
    }
    forward(req, res, opts.forwardTo);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    refused: () => refused,
    fail: (code) => void (failing = code),
    pass: () => void (failing = undefined),
    stop: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
