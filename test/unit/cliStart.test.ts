// The command's launcher (src/cliStart.ts, dist/cli.js): it runs dist/cli-main.js with V8's code
// cache, one file per command under $XDG_CACHE_HOME/rclone-devbox/v8. A cache is only a saving:
// whatever is wrong with it, the CLI prints the same and exits the same. Run on a copy of the two
// built files, so that "rebuilding" one does not touch dist/.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, tempDir } from '../helpers/fixtures';

describe('the CLI launcher and its code cache', () => {
  let work: ReturnType<typeof tempDir>;
  let cli: string;
  let cacheHome: string;
  const v8Dir = () => join(cacheHome, 'rclone-devbox', 'v8');
  const caches = () => readdirSync(v8Dir()).filter((n) => n.endsWith('.bin'));
  const run = (args: string[], cache = cacheHome) =>
    execa(process.execPath, [cli, ...args], { env: { ...process.env, XDG_CACHE_HOME: cache }, reject: false });

  before(() => {
    work = tempDir('rdb-clistart-');
    mkdirSync(join(work.path, 'dist'));
    for (const f of ['cli.js', 'cli-main.js']) copyFileSync(join(ROOT, 'dist', f), join(work.path, 'dist', f));
    cli = join(work.path, 'dist', 'cli.js');
    cacheHome = join(work.path, 'cache');
  });
  after(() => work?.dispose());

  it("a command's first successful run keeps its cache; the next run uses it (not rewritten) and prints the same", async () => {
    const first = await run(['--help']);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.match(first.stdout, /^usage: rclone-devbox/);
    const [kept, ...more] = caches();
    assert.ok(kept?.endsWith('.none.bin') && !more.length, `one cache, for a run without a command: ${caches()}`);
    if (!kept) return;
    const before = statSync(join(v8Dir(), kept));
    assert.ok(before.size > 10_000, `the cache holds compiled code (${before.size} bytes)`);
    const second = await run(['--help']);
    assert.equal(second.stdout, first.stdout);
    const after = statSync(join(v8Dir(), kept));
    // A cache V8 rejected would be written again (a new file, renamed into place).
    assert.equal(after.ino, before.ino, 'the cache was accepted, not written again');
  });

  it('a run that fails keeps no cache: a mistyped command leaves no file behind', async () => {
    const r = await run(['mnt']);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /mnt/);
    assert.ok(!caches().some((n) => n.includes('.mnt.')), `no cache for "mnt": ${caches()}`);
  });

  it('a corrupt cache costs only itself: the same output, and it is replaced', async () => {
    const expected = (await run(['--help'])).stdout;
    const file = join(
      v8Dir(),
      caches().find((n) => n.endsWith('.none.bin'))!,
    );
    writeFileSync(file, 'not compiled code');
    const r = await run(['--help']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, expected);
    assert.notEqual(readFileSync(file, 'utf8'), 'not compiled code', 'the corrupt cache was replaced');
  });

  it("a rebuilt CLI never meets an old build's cache; the old one, and a killed run's temp file, are removed", async () => {
    await run(['--help']);
    const old = caches();
    assert.ok(old.length >= 1);
    appendFileSync(join(work.path, 'dist', 'cli-main.js'), '\n// rebuilt\n'); // another size: another build
    // And the temp file of a run killed while it wrote its cache, an hour ago; one being written now stays.
    const killed = join(v8Dir(), `${old[0]}.4242.tmp`);
    const writing = join(v8Dir(), `${old[0]}.4343.tmp`);
    writeFileSync(killed, 'half');
    writeFileSync(writing, 'half');
    utimesSync(killed, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    const r = await run(['--help']);
    assert.equal(r.exitCode, 0, r.stderr);
    const now = caches();
    assert.ok(now.length >= 1 && now.every((n) => !old.includes(n)), `old ${old}, now ${now}`);
    assert.ok(!existsSync(killed) && existsSync(writing), "the killed run's temp file is gone, not the fresh one");
  });

  it('a cache folder other users may write is not used: no cache is read from it or written to it', async () => {
    const shared = join(work.path, 'shared-cache');
    const v8 = join(shared, 'rclone-devbox', 'v8');
    mkdirSync(v8, { recursive: true });
    chmodSync(v8, 0o777); // as a folder under a HOME-less run's /tmp/.cache could be
    const r = await run(['--help'], shared);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^usage: rclone-devbox/);
    assert.deepEqual(readdirSync(v8), [], 'nothing written there');
    chmodSync(v8, 0o700); // ours alone: used again
    await run(['--help'], shared);
    assert.equal(readdirSync(v8).filter((n) => n.endsWith('.bin')).length, 1);
  });

  it('a cache folder that cannot be written: the command works all the same', async () => {
    const blocked = join(work.path, 'not-a-folder');
    writeFileSync(blocked, ''); // XDG_CACHE_HOME is a file: no folder can be made under it
    const r = await run(['--help'], blocked);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^usage: rclone-devbox/);
    assert.equal(r.stderr, '');
  });
});
