// A client for the remote-control API of an rclone mount we started: loopback only, always
// authenticated (the credentials reach rclone through its environment, never its argv).
import type * as Http from 'node:http';
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';

// node:http is loaded at the first call: `rclone-devbox mount` and most CLI runs never make one,
// and loading it is a measurable part of the CLI's start-up (bench/cli.bench.ts).
let http: typeof Http | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, on purpose
const loadHttp = () => (http ??= require('node:http') as typeof Http);

export interface RcEndpoint {
  port: number;
  user: string;
  pass: string;
}

export interface VfsStats {
  uploadsInProgress: number;
  uploadsQueued: number;
  erroredFiles: number;
  outOfSpace: boolean;
  /** Metadata the VFS holds (grows as a prewarm walks the tree). */
  dirs: number;
  files: number;
}

export class RcClient {
  constructor(private readonly endpoint: RcEndpoint) {}

  async call<T>(
    path: string,
    params: Record<string, unknown> = {},
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    let answer: { status: number; text: string };
    try {
      answer = await post(this.endpoint, path, JSON.stringify(params), opts.timeoutMs ?? 5_000, opts.signal);
    } catch (e) {
      if (opts.signal?.aborted) throw new RcloneError('Cancelled', l10n.t`Cancelled: rc ${path}.`);
      throw new RcloneError(
        'Unreachable',
        l10n.t`The mount's control API on 127.0.0.1:${this.endpoint.port} does not answer.`,
        { fix: l10n.t('The rclone process may have died: repair the mount.'), detail: (e as Error).message },
      );
    }
    let body: T & { error?: string };
    try {
      body = JSON.parse(answer.text) as T & { error?: string };
    } catch {
      body = {} as T & { error?: string };
    }
    if (answer.status !== 200) {
      const refused = answer.status === 401;
      throw new RcloneError(refused ? 'AuthFailed' : 'Unknown', l10n.t`rc ${path} failed (HTTP ${answer.status}).`, {
        fix: refused
          ? l10n.t('The mount was started by someone else: its control credentials are not ours.')
          : undefined,
        detail: body.error ?? '',
      });
    }
    return body;
  }

  async pid(opts?: { timeoutMs?: number }): Promise<number> {
    return (await this.call<{ pid: number }>('core/pid', {}, opts)).pid;
  }

  async vfsStats(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<VfsStats> {
    const r = await this.call<{
      diskCache?: { uploadsInProgress?: number; uploadsQueued?: number; erroredFiles?: number; outOfSpace?: boolean };
      metadataCache?: { dirs?: number; files?: number };
    }>('vfs/stats', {}, opts);
    return {
      uploadsInProgress: r.diskCache?.uploadsInProgress ?? 0,
      uploadsQueued: r.diskCache?.uploadsQueued ?? 0,
      erroredFiles: r.diskCache?.erroredFiles ?? 0,
      outOfSpace: r.diskCache?.outOfSpace ?? false,
      dirs: r.metadataCache?.dirs ?? 0,
      files: r.metadataCache?.files ?? 0,
    };
  }

  /**
   * rclone's transfer counters (`core/stats`): how many errors, and the last one's text (absent
   * until one happens). rclone 1.60 counts a mount's failed uploads here, not its failed listings
   * or reads (those are only in its log).
   */
  async coreStats(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<CoreStats> {
    const r = await this.call<{ errors?: number; lastError?: string }>('core/stats', {}, opts);
    return { errors: r.errors ?? 0, lastError: r.lastError || undefined };
  }
}

export interface CoreStats {
  errors: number;
  lastError?: string;
}

/**
 * One POST to the rc API on loopback, bounded in time. node:http rather than fetch: fetch's first
 * use compiles its HTTP parser (WebAssembly) and the process waits for that before it can exit,
 * which a one-shot CLI pays in full for a single small request.
 */
function post(
  endpoint: RcEndpoint,
  path: string,
  body: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const auth = Buffer.from(`${endpoint.user}:${endpoint.pass}`).toString('base64');
    const req = loadHttp().request(
      {
        host: '127.0.0.1',
        port: endpoint.port,
        path: `/${path}`,
        method: 'POST',
        headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
        timeout: timeoutMs,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', fail);
      },
    );
    // `timeout` above fires on an idle socket; a whole-call bound is what callers rely on.
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end(body);
  });
}
