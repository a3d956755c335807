// Small pieces shared by the runners: timed phases, bounded polling, log tails, a cleanup stack.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const timings: Array<{ phase: string; ms: number; ok: boolean }> = [];

/** Runs one named phase, prints when it starts and how long it took, records the timing. */
export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  console.log(`\n▶ ${name}`);
  let ok = false;
  try {
    const value = await fn();
    ok = true;
    return value;
  } finally {
    const ms = Date.now() - start;
    timings.push({ phase: name, ms, ok });
    console.log(`${ok ? '◀' : '✖'} ${name}: ${(ms / 1000).toFixed(1)} s`);
  }
}

export function printTimings(): void {
  if (!timings.length) return;
  console.log('\nPhase timings:');
  for (const t of timings)
    console.log(`  ${t.ok ? ' ' : '✖'} ${t.phase.padEnd(44)} ${(t.ms / 1000).toFixed(1).padStart(7)} s`);
}

export interface WaitOptions {
  timeoutMs: number;
  /** What is awaited, for the timeout message. */
  what: string;
  intervalMs?: number;
  /** Checked every round: a string means "this will never happen", and fails the wait at once. */
  failFast?: () => string | undefined;
}

/** Polls `probe` until it returns a value (not undefined); bounded, with an early exit. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    const dead = opts.failFast?.();
    if (dead) throw new Error(`gave up waiting for ${opts.what}: ${dead}`);
    if (Date.now() > deadline)
      throw new Error(`timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${opts.what}`);
    await delay(opts.intervalMs ?? 250);
  }
}

/** Files under `dir` (recursively) whose name matches, newest layouts differ between VS Code versions. */
export function findFiles(dir: string, match: (name: string) => boolean): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && match(e.name))
      .map((e) => join(e.parentPath ?? e.path, e.name))
      .sort();
  } catch {
    return [];
  }
}

/** The last `lines` lines of a file ("" if it cannot be read). */
export function tail(file: string, lines = 200): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function printTail(title: string, file: string, lines = 200): void {
  const text = tail(file, lines);
  console.log(`\n----- ${title}: last ${lines} lines of ${file} -----`);
  console.log(text || '(empty)');
  console.log('----- end -----');
}

/** `fn` runs on the first call only; later calls get the same promise (a release may be asked for twice). */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

/**
 * Cleanup steps, run last-in-first-out exactly once, each bounded, each one even if an earlier
 * step failed. Also runs on SIGINT/SIGTERM/SIGHUP, so Ctrl-C during a run does not leave a server,
 * a browser or a FUSE mount behind.
 */
export class Cleanup {
  private readonly steps: Array<{ name: string; fn: () => Promise<void> | void; timeoutMs: number }> = [];
  private running: Promise<void> | undefined;

  /** `signalExitCode`: the exit code after a signal's cleanup (the demo ends with Ctrl-C on purpose: 0). */
  constructor(signalExitCode = 130) {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      // `on`, not `once`: Ctrl-C often arrives twice (the terminal signals the whole process group,
      // a wrapper like `timeout` forwards it again), and without a handler the second one would kill
      // us mid-cleanup. Every step is bounded, so ignoring repeats cannot hang.
      process.on(sig, () => {
        if (this.running) return console.error(`${sig}: cleanup already running`);
        console.error(`\n${sig}: cleaning up`);
        void this.run().finally(() => process.exit(signalExitCode));
      });
    }
  }

  add(name: string, fn: () => Promise<void> | void, timeoutMs = 30_000): void {
    this.steps.push({ name, fn, timeoutMs });
  }

  /** True once cleanup began (e.g. after Ctrl-C): failures seen from then on are our own doing. */
  get started(): boolean {
    return this.running !== undefined;
  }

  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps.reverse()) {
      console.log(`cleanup: ${step.name}`);
      const timer = delay(step.timeoutMs, 'timeout' as const, { ref: false });
      try {
        const r = await Promise.race([
          Promise.resolve()
            .then(step.fn)
            .then(() => 'done' as const),
          timer,
        ]);
        if (r === 'timeout') console.error(`cleanup: "${step.name}" did not finish within ${step.timeoutMs / 1000} s`);
      } catch (e) {
        console.error(`cleanup: "${step.name}" failed: ${(e as Error).message ?? e}`);
      }
    }
  }
}
