// A lock file per mount point, so two windows (or a window and the CLI in a boot script) that
// mount the same point at once end with one mount: the second waits, then finds it mounted.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { RcloneError } from './errors';
import { processAlive } from './processes';

export async function withLock<T>(dir: string, key: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.lock`);
  const token = `${process.pid} ${Math.random().toString(36).slice(2)}`;
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      await writeFile(file, token, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).split(' ')[0]);
    if (holder && !processAlive(holder)) {
      await rm(file, { force: true }); // its owner died holding it
      continue;
    }
    if (Date.now() > deadline) {
      throw new RcloneError('MountBusy', `Another operation on ${key} is still running (process ${holder}).`, {
        fix: 'Wait for it to finish, then try again.',
      });
    }
    await delay(wait);
  }
  try {
    return await work();
  } finally {
    if ((await readFile(file, 'utf8').catch(() => '')) === token) await rm(file, { force: true });
  }
}
