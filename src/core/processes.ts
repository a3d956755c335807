// Small process facts read from /proc and signals sent by pid; nothing here spawns a process.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** Is `pid` alive and (if given) its argv contains every one of `argvParts`? Guards against pid reuse. */
export function processAlive(pid: number, ...argvParts: string[]): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!argvParts.length) return true;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) return false; // zombie
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
