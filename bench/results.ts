// What the benchmarks share: the figures of paired runs (median, min, max), bench/results.json
// (each bench process merges its own keys into it, so the separate processes add up), and the
// cleanup on Ctrl-C (only what this bench started: mounts under its own temp dirs, its own children).
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { readRcloneMounts } from '../src/core/mountinfo';
import { type Box, ROOT, startBox } from '../test/helpers/fixtures';
import { rclonePidsWhere } from '../test/helpers/procs';
import { type Proxy, startProxy } from '../test/helpers/proxy';

export const RESULTS_FILE = join(ROOT, 'bench', 'results.json');

export interface Ratio {
  /** Of the per-run values (a ratio per paired run, or a figure per run). */
  median: number;
  min: number;
  max: number;
  runs: number;
  ours_ms?: number;
  theirs_ms?: number;
  target?: string;
  met?: boolean;
  limitedBy?: string;
}

export interface Results {
  machine: { cpus: number; model: string; memGB: number; os: string };
  date: string;
  rclone: string;
  node: string;
  ratios: Record<string, Ratio>;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

/** A target on the median: `>= 50`, `<= 1.05`; `note` says what it means in words. */
export interface Target {
  op: '>=' | '<=';
  value: number;
  note?: string;
}

function withTarget(r: Ratio, target?: Target, limitedBy?: string): Ratio {
  if (target) {
    r.target = `${target.op} ${target.value}${target.note ? ` (${target.note})` : ''}`;
    r.met = target.op === '>=' ? r.median >= target.value : r.median <= target.value;
  }
  if (limitedBy) r.limitedBy = limitedBy;
  return r;
}

/** Per-run values (not paired): median, min, max. */
export function figure(values: readonly number[], target?: Target, limitedBy?: string): Ratio {
  if (!values.length) throw new Error('no runs');
  return withTarget(
    {
      median: round(median(values)),
      min: round(Math.min(...values)),
      max: round(Math.max(...values)),
      runs: values.length,
    },
    target,
    limitedBy,
  );
}

/**
 * Speed of ours against theirs from paired runs (run i of each side, measured back to back):
 * theirs_i / ours_i per run, so > 1 means ours is faster.
 */
export function speedup(
  theirs: readonly number[],
  ours: readonly number[],
  target?: Target,
  limitedBy?: string,
): Ratio {
  const n = Math.min(theirs.length, ours.length);
  if (!n) throw new Error('no paired runs');
  const r = figure(
    Array.from({ length: n }, (_, i) => theirs[i]! / ours[i]!),
    target,
    limitedBy,
  );
  return { ...r, ours_ms: round(median(ours.slice(0, n)), 1), theirs_ms: round(median(theirs.slice(0, n)), 1) };
}

/** Says what limits a figure whose target was not met (`why` is only asked then: it reports measurements). */
export function explain(r: Ratio, why: () => string): Ratio {
  return r.met === false ? { ...r, limitedBy: why() } : r;
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return undefined;
  }
}

/**
 * The CPU a short-lived child uses, sampled every 20 ms while it runs (its last moments are
 * missed: a lower bound). `stop()` gives the last sample.
 */
export function sampleCpu(pid: number): { stop(): number } {
  let last = 0;
  const timer = setInterval(() => {
    const s = cpuSeconds(pid);
    if (s !== undefined) last = s;
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return last;
    },
  };
}

/** A ratio as one line for the console. */
export function describe(key: string, r: Ratio): string {
  const ms =
    r.ours_ms !== undefined && r.theirs_ms !== undefined
      ? ` (ours ${r.ours_ms.toFixed(0)} ms, theirs ${r.theirs_ms.toFixed(0)} ms)`
      : r.ours_ms !== undefined
        ? ` (${r.ours_ms.toFixed(1)} ms)`
        : '';
  const met = r.met === undefined ? '' : r.met ? `  target ${r.target}: met` : `  target ${r.target}: NOT met`;
  return `  ${key.padEnd(24)} ${r.median.toFixed(2)} [${r.min.toFixed(2)}..${r.max.toFixed(2)}] x${r.runs}${ms}${met}`;
}

function machine(): Results['machine'] {
  let os = `${type()} ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) os = `${pretty}, ${type()} ${release()}`;
  } catch {
    // not Linux with os-release: the kernel's name will do
  }
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memGB: round(totalmem() / 2 ** 30, 1),
    os,
  };
}

/**
 * Merges `ratios` into bench/results.json (read, merge, write to a temp file, rename): the other
 * benches' keys stay, this one's are replaced; machine, date and versions are this run's (a bench
 * that runs no rclone keeps the version the others wrote).
 */
export function saveResults(ratios: Record<string, Ratio>, rcloneVersion?: string): void {
  let old: Partial<Results> = {};
  try {
    old = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Partial<Results>;
  } catch {
    // first run, or a broken file: start over
  }
  const results: Results = {
    machine: machine(),
    date: new Date().toISOString(),
    rclone: rcloneVersion ?? old.rclone ?? 'unknown',
    node: process.version,
    ratios: { ...(old.ratios ?? {}), ...ratios },
  };
  const tmp = `${RESULTS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(tmp, RESULTS_FILE);
  console.log(`\nbench/results.json: ${Object.keys(ratios).join(', ')}`);
  for (const [k, r] of Object.entries(ratios)) console.log(describe(k, r));
}

/** Pids of this process's descendants, children first, read from /proc. */
function descendants(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (let queue = [root]; queue.length;) {
    const pid = queue.shift()!;
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
};

const rclonePidsNaming = (dirs: readonly string[]) =>
  rclonePidsWhere((argv) => argv.some((a) => dirs.some((d) => a.includes(d))));

/**
 * Ends what a bench left under its own `dirs`: lazily unmounts the rclone mounts there
 * (`fusermount3 -uz`), then kills the rclones whose argv names one of the dirs. Other mounts and
 * other rclones on the box are never touched.
 */
export async function endMountsUnder(dirs: readonly string[]): Promise<void> {
  const ours = (path: string) => dirs.some((d) => path === d || path.startsWith(`${d}/`));
  try {
    for (const m of await readRcloneMounts()) {
      if (!ours(m.mountPoint)) continue;
      await execa('fusermount3', ['-uz', m.mountPoint], { reject: false, timeout: 5_000 });
      console.error(`  unmounted ${m.mountPoint}`);
    }
  } catch (e) {
    console.error(`  reading the mounts failed: ${(e as Error).message}`);
  }
  for (const pid of rclonePidsNaming(dirs)) kill(pid);
}

/**
 * Ctrl-C (SIGINT) or SIGTERM during a bench: lazily unmounts the mounts under the bench's own
 * dirs, kills its own children (and the rclone daemons whose argv names its dirs: `--daemon`
 * leaves the process tree), removes the dirs, and exits 130. Nothing else on the box is touched.
 */
export class Interrupts {
  private readonly dirs = new Set<string>();
  private readonly first: Array<() => Promise<void>> = [];
  private handling = false;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void this.interrupted(signal));
  }

  /** A temp dir of this bench: what is mounted under it, and the rclones that name it, are ours. */
  add(...dirs: string[]): void {
    for (const d of dirs) this.dirs.add(d);
  }

  /** Runs first on an interrupt (bounded by 30 s), e.g. to let a child that cleans up after itself do so. */
  beforeKill(fn: () => Promise<void>): void {
    this.first.push(fn);
  }

  private async interrupted(signal: string): Promise<void> {
    if (this.handling) return;
    this.handling = true;
    console.error(`\n${signal}: cleaning up what this bench started`);
    const bound = new Promise<void>((ok) => setTimeout(ok, 30_000).unref());
    await Promise.race([Promise.all(this.first.map((fn) => fn().catch(() => undefined))), bound]);
    const dirs = [...this.dirs];
    await endMountsUnder(dirs);
    const pids = new Set([...descendants(), ...rclonePidsNaming(dirs)]);
    for (const pid of [...pids].reverse()) kill(pid);
    if (pids.size) console.error(`  killed ${pids.size} processes of ours: ${[...pids].join(', ')}`);
    for (const d of dirs) if (existsSync(d)) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
    process.exit(130);
  }
}

/** What a request between a dev box and a same-region bucket takes on top of loopback (test/helpers/proxy.ts adds it). */
export const LINK_MS = 15;

/**
 * Runs a bench in its own world: an S3 server with `buckets`, and the slowed link in front of it.
 * Afterwards, also when it fails, whatever it left mounted under the box is ended, then the link
 * and the server; a failure is printed and the process exits 1. Ctrl-C is `interrupts`'.
 */
export function benchOnBox(
  interrupts: Interrupts,
  buckets: string[],
  run: (box: Box, proxy: Proxy) => Promise<void>,
): void {
  const main = async () => {
    const box = await startBox(buckets);
    interrupts.add(box.dir, box.s3.dataDir);
    const proxy = await startProxy(box.s3.port, LINK_MS);
    try {
      await run(box, proxy);
    } finally {
      await endMountsUnder([box.dir]); // only after a failure is anything left there
      await proxy.stop();
      await box.dispose();
    }
  };
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
