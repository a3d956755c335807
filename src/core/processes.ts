// Small process facts read from /proc, programs found on PATH, and signals sent by pid; nothing
// here spawns a process.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, isAbsolute, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** Fields of /proc/<pid>/stat after the command name (which may itself contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(') ') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Is `path` a file this process may execute? */
export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The first executable `name` in PATH's absolute folders (an empty or relative entry would mean
 * "wherever we are"). Synchronous: a few stat calls, cheaper than a promise round trip each.
 */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (isAbsolute(dir) && isExecutableFile(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The process state letter (R, S, D, T for stopped, Z for zombie…), undefined when it is gone. */
export const processState = (pid: number): string | undefined => statFields(pid)?.[0];

/**
 * Who a process is, beyond its pid (which the kernel reuses): boot id plus start time (field 22 of
 * /proc/<pid>/stat, clock ticks since boot). Files that outlive a reboot (locks, state) keep it.
 */
export function processIdentity(pid: number): string | undefined {
  const start = statFields(pid)?.[19];
  return start === undefined ? undefined : `${bootId()}/${start}`;
}

let boot: string | undefined;
function bootId(): string {
  try {
    boot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    boot = 'unknown-boot';
  }
  return boot;
}

/** Is `pid` still the process whose identity was recorded (see processIdentity)? */
export const sameProcess = (pid: number, identity: string): boolean =>
  processState(pid) !== 'Z' && processIdentity(pid) === identity;

/** Is `pid` alive and (if given) its argv contains every one of `argvParts`? Guards against pid reuse. */
export function processAlive(pid: number, ...argvParts: string[]): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = processState(pid);
  if (state === undefined || state === 'Z' || state === 'X') return false; // a zombie has ended: it only waits to be reaped
  if (!argvParts.length) return true;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline === '') return true; // exiting: its memory (argv with it) is released, it is not a zombie yet
    const argv = cmdline.split('\0');
    return argvParts.every((part) => argv.includes(part));
  } catch {
    return false;
  }
}

/** Waits (polling /proc, bounded) until `pid` is gone; true if it went. */
export async function waitForExit(pid: number, timeoutMs: number, ...argvParts: string[]): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; processAlive(pid, ...argvParts); wait = Math.min(wait * 2, 100)) {
    if (Date.now() > deadline) return false;
    await delay(wait);
  }
  return true;
}

/** SIGTERM, then SIGKILL after `graceMs`: ends a process we started, by its pid. */
export async function endProcess(pid: number, graceMs = 5_000, ...argvParts: string[]): Promise<void> {
  if (!processAlive(pid, ...argvParts)) return;
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs, ...argvParts)) return;
  signal(pid, 'SIGKILL');
  await waitForExit(pid, 2_000, ...argvParts);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released for the caller to bind). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}
