// Does a mount answer? Asked without ever blocking the caller's process. A `stat` of a FUSE mount
// whose rclone is stopped or stuck mid-request never returns, and each one holds one of libuv's four
// worker threads (which every file, DNS and crypto call of the process shares): so at most one stat
// per mount point is ever in flight, and a mount we started is asked through its rc API instead.
import { stat } from 'node:fs/promises';
import { processState } from './processes';
import type { RcClient, VfsStats } from './rc';

export type Liveness = 'answers' | 'dead' | 'not answering';

/** Until a probe settles, later callers wait on it (bounded) instead of starting another. */
export class Prober {
  private readonly inFlight = new Map<string, Promise<Liveness>>();

  constructor(private readonly timeoutMs = 2_000) {}

  /** A mount of another tool: stat its root (ENOTCONN and friends mean its rclone is gone). */
  probe(dir: string): Promise<Liveness> {
    let probe = this.inFlight.get(dir);
    if (!probe) {
      probe = stat(dir).then(
        () => 'answers' as const,
        (e: NodeJS.ErrnoException) => (['ENOTCONN', 'ECONNABORTED', 'EIO'].includes(e.code ?? '') ? 'dead' : 'answers'),
      );
      this.inFlight.set(dir, probe);
      void probe.finally(() => this.inFlight.delete(dir));
    }
    return within(probe, this.timeoutMs);
  }

  /** A mount we started: its process state, then its rc API (HTTP on loopback: no worker thread). */
  async ask(pid: number, rc: RcClient): Promise<{ liveness: Liveness; stats?: VfsStats }> {
    if (processState(pid) === 'T') return { liveness: 'not answering' }; // SIGSTOP: it cannot answer
    const stats = await rc.vfsStats({ timeoutMs: this.timeoutMs }).catch(() => undefined);
    return stats ? { liveness: 'answers', stats } : { liveness: 'not answering' };
  }
}

async function within(probe: Promise<Liveness>, ms: number): Promise<Liveness> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Liveness>((ok) => (timer = setTimeout(() => ok('not answering'), ms)));
  return Promise.race([probe, late]).finally(() => clearTimeout(timer));
}
