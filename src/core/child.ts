// Running a program with an argument array (never a shell): to completion, or line by line as it
// writes. Node's own child_process rather than execa: execa's module graph costs ~13 ms to load,
// a tenth of a whole `rclone-devbox ls`, and the CLI pays it on every run. What execa gave us is
// kept: a whole-call timeout and an AbortSignal that end the child (SIGTERM, then SIGKILL after
// 2 s), a bound on collected output, and children ended when this process exits.
import { type ChildProcess, spawn } from 'node:child_process';

export interface ChildOptions {
  env: Record<string, string>;
  /** Whole-call bound in milliseconds; 0: none. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Written to stdin, which is closed after it; without it stdin is /dev/null. */
  input?: string;
  /** stdout kept beyond this many characters fails the call (run() only). */
  maxBuffer?: number;
  /** Each line of stderr as it arrives (rclone's JSON log, e.g. the stats of a copy). */
  onStderrLine?: (line: string) => void;
}

export interface ChildResult {
  failed: boolean;
  timedOut: boolean;
  isCanceled: boolean;
  /** undefined when the child was ended by a signal or never started. */
  exitCode?: number;
  stdout: string;
  stderr: string;
  /** The errno of a child that could not be started (ENOENT, EACCES). */
  code?: string;
  originalMessage?: string;
}

const FORCE_KILL_AFTER_MS = 2_000;
/** stderr kept for error messages: rclone's last words are what matter. */
const STDERR_KEPT = 256 * 1024;

// A child must not outlive us by accident (an editor reloading, a CLI exiting early): the long
// lived mount is spawned elsewhere, detached on purpose.
const running = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('close', () => running.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGTERM'); // rclone ends on it; no time is left to wait and SIGKILL
  });
}

/** A started child: its stdout as lines (once), its end as a result, and stop() to end it now. */
export class Child {
  private readonly proc: ChildProcess;
  private stderr = '';
  private stdout = '';
  private timedOut = false;
  private canceled = false;
  private overflow = false;
  private startError: NodeJS.ErrnoException | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => ((this.canceled = true), this.stop());
  /** Settles when the child has exited and its output is read; never rejects. */
  readonly result: Promise<ChildResult>;

  constructor(
    file: string,
    args: readonly string[],
    private readonly opts: ChildOptions & { collect: boolean },
  ) {
    this.proc = spawn(file, args, {
      env: opts.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    track(this.proc);
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stderr!.setEncoding('utf8');
    let partial = '';
    this.proc.stderr!.on('data', (s: string) => {
      if (opts.onStderrLine) {
        const lines = (partial + s).split('\n');
        partial = lines.pop()!;
        for (const line of lines) opts.onStderrLine(line);
      }
      this.stderr += s;
      if (this.stderr.length > STDERR_KEPT) this.stderr = this.stderr.slice(-STDERR_KEPT);
    });
    if (opts.collect) {
      this.proc.stdout!.on('data', (s: string) => {
        this.stdout += s;
        if (this.stdout.length <= (opts.maxBuffer ?? Infinity)) return;
        this.overflow = true;
        this.stop();
      });
    }
    if (opts.input !== undefined) {
      this.proc.stdin!.on('error', () => undefined); // a child that exits without reading its input
      this.proc.stdin!.end(opts.input);
    }
    if (opts.timeoutMs > 0) this.timer = setTimeout(() => ((this.timedOut = true), this.stop()), opts.timeoutMs);
    if (opts.signal?.aborted) this.onAbort();
    else opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.result = new Promise<ChildResult>((ok) => {
      this.proc.once('error', (e) => {
        this.startError = e;
        if (this.proc.pid === undefined) ok(this.finish(null));
      });
      this.proc.once('close', (code) => ok(this.finish(code)));
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Ends the child: SIGTERM now, SIGKILL if it is still there after 2 s. */
  stop(): void {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null || this.killTimer) return;
    this.proc.kill('SIGTERM');
    this.killTimer = setTimeout(() => this.proc.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
  }

  /**
   * stdout line by line as it arrives (without the newline). Pulled, not pushed: while nobody
   * pulls, the pipe is not read, so the child blocks on it once it is full, reading nothing that
   * would not be handed out. Leaving early stops reading; ending the child is the caller's (stop()).
   */
  async *lines(): AsyncGenerator<string, void, undefined> {
    const stdout = this.proc.stdout!;
    const queue: string[] = [];
    let rest = '';
    let ended = false;
    let wake: (() => void) | undefined;
    const onData = (s: string) => {
      const parts = (rest + s).split('\n');
      rest = parts.pop()!;
      queue.push(...parts);
      if (queue.length) stdout.pause();
      wake?.();
    };
    const onEnd = () => {
      ended = true;
      wake?.();
    };
    stdout.on('data', onData).once('end', onEnd).once('close', onEnd);
    try {
      for (;;) {
        if (queue.length) {
          yield queue.shift()!;
          continue;
        }
        if (ended) break;
        stdout.resume();
        await new Promise<void>((ok) => (wake = ok));
        wake = undefined;
      }
      if (rest) yield rest;
    } finally {
      stdout.off('data', onData).off('end', onEnd).off('close', onEnd);
      if (!ended) stdout.destroy();
    }
  }

  private finish(code: number | null): ChildResult {
    clearTimeout(this.timer);
    clearTimeout(this.killTimer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    const start = this.startError;
    const failed =
      start !== undefined || this.timedOut || this.canceled || this.overflow || code === null || code !== 0;
    return {
      failed,
      timedOut: this.timedOut,
      isCanceled: this.canceled && !this.timedOut,
      exitCode: code ?? undefined,
      stdout: this.stdout,
      stderr: this.overflow ? `${this.stderr}\noutput larger than ${this.opts.maxBuffer} characters` : this.stderr,
      code: start?.code,
      originalMessage: start?.message,
    };
  }
}
