#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// `rclone-devbox`: runs the CLI (cli-main.js, beside this file) with V8's code cache.
// (Run as a command, the shebang drops NODE_EXTRA_CA_CERTS: Node 20 reads that bundle at every
// start-up, 35 ms on a box that sets it, and this CLI never speaks TLS; rclone ignores it.)
// A run lasts a fraction of a second, so compiling the CLI's code is a fair part of it. What V8
// compiled in a command's first successful run is kept in $XDG_CACHE_HOME/rclone-devbox/v8/ and
// reused by the next runs of that command: about 5 ms of each (bench/cli.bench.ts). V8 checks a
// cache only against the source's length, so the file's name holds Node's version and
// cli-main.js's inode, size and mtime: a rebuilt CLI never meets an old cache. Anything wrong with
// the cache (unwritable, corrupt, rejected, in a folder others may write) costs only that saving.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { defaultCacheDir } from './core/cache';

const main = join(__dirname, 'cli-main.js');
const source = readFileSync(main, 'utf8');
const s = statSync(main);
const version = `${process.version}-${s.ino}-${s.size}-${Math.floor(s.mtimeMs)}`;
const dir = join(defaultCacheDir(process.env), 'v8');
// One cache per command (each compiles different code); words that are not a command never get
// one, as only a run that succeeds writes its cache.
const word = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? 'none';
const file = join(dir, `${version}.${/^[a-z-]{1,24}$/.test(word) ? word : 'other'}.bin`);

/**
 * A cache is code this process runs: it is read and written only in folders of this user's that no
 * one else may write (a HOME-less run falls back to /tmp/.cache, which another user could create).
 */
function onlyMine(path: string): boolean {
  try {
    const st = statSync(path);
    return st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
const safe = () => onlyMine(join(dir, '..')) && onlyMine(dir);

let cachedData: Buffer | undefined;
try {
  cachedData = safe() && onlyMine(file) ? readFileSync(file) : undefined;
} catch {
  cachedData = undefined;
}
const script = new Script(Module.wrap(source), { filename: main, cachedData });
if (!cachedData || script.cachedDataRejected) process.once('exit', (code) => code === 0 && keep(script));

/**
 * Writes what V8 compiled in this run (by rename: a concurrent run reads a whole file or none), and
 * drops the caches of other builds and the temp file of a run killed while it wrote (a minute old).
 */
function keep(compiled: Script): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!safe()) return;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, compiled.createCachedData(), { mode: 0o600 });
    renameSync(tmp, file);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stale = name.endsWith('.tmp')
        ? Date.now() - statSync(path).mtimeMs > 60_000
        : name.endsWith('.bin') && !name.startsWith(`${version}.`);
      if (stale) rmSync(path, { force: true });
    }
  } catch {
    // no cache this time
  }
}

const mod = { exports: {}, filename: main, id: main };
(script.runInThisContext() as (...args: unknown[]) => void).call(
  mod.exports,
  mod.exports,
  createRequire(main),
  mod,
  main,
  __dirname,
);
