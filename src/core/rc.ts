// A client for the remote-control API of an rclone mount we started: loopback only, always
// authenticated (the credentials reach rclone through its environment, never its argv).
import { RcloneError } from './errors';

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
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 5_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const auth = Buffer.from(`${this.endpoint.user}:${this.endpoint.pass}`).toString('base64');
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${this.endpoint.port}/${path}`, {
        method: 'POST',
        headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw new RcloneError('Cancelled', `Cancelled: rc ${path}.`);
      throw new RcloneError(
        'Unreachable',
        `The mount's control API on 127.0.0.1:${this.endpoint.port} does not answer.`,
        {
          fix: 'The rclone process may have died: repair the mount.',
          detail: (e as Error).message,
        },
      );
    }
    const body = (await res.json().catch(() => ({}))) as T & { error?: string };
    if (!res.ok) {
      throw new RcloneError(res.status === 401 ? 'AuthFailed' : 'Unknown', `rc ${path} failed (HTTP ${res.status}).`, {
        fix:
          res.status === 401
            ? 'The mount was started by someone else: its control credentials are not ours.'
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
}
