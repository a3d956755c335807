// `rclone-devbox prewarm` on real FUSE mounts of a real S3 server: the result line, progress only on
// a terminal, --json without the mount's rc password, a folder on no mount, --content refused on a
// mount that keeps nothing and done on a full-cache one, and Ctrl-C.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { CLI, cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, s3Remote, SECRET_KEY, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';
import { type Proxy, startProxy } from '../helpers/proxy';

const MODEL_BYTES = 3 << 20;
const RESULT =
  /^Warmed (.+): (\d+) files, (\d+) folders in \d+\.\d s; listings kept until (\d{4}-\d\d-\d\d \d\d:\d\d) \(dir cache time\)$/;

/** A command line for sh -c, every word quoted. */
const sh = (words: string[]) => words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');

describe('rclone-devbox prewarm', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  before(async () => {
    box = await startBox(['index-tts-data']);
    // s3rver lists a prefix one level deep only: a marker in every top-level folder.
    await putObjects(box, 'index-tts-data', {
      'cache_hub/.keep': '',
      'cache_hub/a/1.json': '{"n":1}',
      'cache_hub/a/2.json': '{"n":2}',
      'cache_hub/b/3.json': '{"n":3}',
      'cache_hub_v23/.keep': '',
      'cache_hub_v23/models/m.pth': 'w'.repeat(MODEL_BYTES),
    });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    if (work) await cleanUp([work.path]);
    work?.dispose();
    work = undefined;
  });
  const fresh = () => (work = tempDir('rdb-cliwarm-')).path;

  /** Mounts index-tts-data on <dir>/mnt ü through the CLI; returns the mount point and the run's environment. */
  const mount = async (dir: string, extra: string[] = [], env = cliEnv(box, dir), remote = 's3:index-tts-data') => {
    const mnt = join(dir, 'mnt ü');
    const m = await cli(['mount', remote, mnt, '--cache-dir', join(dir, 'vfs'), ...extra], env);
    assert.equal(m.code, 0, m.stderr);
    return { mnt, env };
  };

  it('warms a folder and the whole mount: one result line on stdout, no progress on a non-terminal stderr', async () => {
    const dir = fresh();
    const { mnt, env } = await mount(dir);
    const r = await cli(['prewarm', join(mnt, 'cache_hub')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no progress (nor \\r) when stderr is not a terminal');
    const m = RESULT.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(m[1], `cache_hub on ${mnt}`);
    assert.ok(Number(m[2]) >= 3, `${m[2]} files known`);
    // --dir-cache-time is 1000h for our mounts: the listings stay for weeks.
    assert.ok(new Date(m[4]!.replace(' ', 'T')).getTime() > Date.now() + 30 * 86_400_000, m[4]);
    const whole = await cli(['prewarm', mnt], env);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(RESULT.exec(whole.stdout)?.[1], mnt, whole.stdout);
    assert.equal(whole.stderr, '');
  });

  it('--json is the result without the rc client: no rc password in it', async () => {
    const dir = fresh();
    const { mnt, env } = await mount(dir);
    const recordsDir = join(dir, 'state', 'rclone-devbox', 'mounts');
    const [file] = readdirSync(recordsDir).filter((n) => n.endsWith('.json'));
    const record = JSON.parse(readFileSync(join(recordsDir, file!), 'utf8')) as { user: string; pass: string };
    assert.ok(record.pass.length >= 16, 'the mount has an rc password');
    const r = await cli(['prewarm', join(mnt, 'cache_hub'), '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(record.pass), 'the rc password reached the output');
    assert.ok(!r.stdout.includes(SECRET_KEY));
    const j = JSON.parse(r.stdout) as {
      target: Record<string, unknown>;
      metadata: { way: string; files: number; dirs: number };
      until: number;
    };
    assert.equal(j.target.mountPoint, mnt);
    assert.equal(j.target.remote, 's3:index-tts-data');
    assert.equal(j.target.rc, true);
    assert.equal(j.metadata.way, 'rc');
    assert.ok(j.metadata.files >= 3);
    assert.ok(j.until > Date.now());
    assert.deepEqual(Object.keys(j).sort(), ['metadata', 'target', 'until']);
  });

  it("another tool's mount (no rc of ours) is walked through the mount, and says so", async () => {
    const dir = fresh();
    const ext = join(dir, 'ext mnt');
    mkdirSync(ext);
    const child = execa(
      box.rclone.path,
      ['--config', box.configFile, 'mount', '--cache-dir', join(dir, 'vfs'), '--', 's3:index-tts-data', ext],
      { env: box.rclone.env, extendEnv: false, reject: false, stdin: 'ignore' },
    );
    try {
      await waitFor(async () => (await readRcloneMounts()).some((e) => e.mountPoint === ext));
      const env = cliEnv(box, dir);
      const r = await cli(['prewarm', join(ext, 'cache_hub')], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(
        r.stdout,
        /^Walked cache_hub on .*\/ext mnt through the mount \(another tool's mount: no rc of ours, the slow way\): 4 files, 3 folders in \d+\.\d s; listings kept until \d{4}-\d\d-\d\d \d\d:\d\d if it has rclone's default dir cache time \(5m\)$/,
      );
      const j = JSON.parse((await cli(['prewarm', join(ext, 'cache_hub'), '--json'], env)).stdout) as {
        target: { rc: boolean };
        metadata: { way: string };
      };
      assert.deepEqual([j.target.rc, j.metadata.way], [false, 'walk']);
      const content = await cli(['prewarm', join(ext, 'cache_hub'), '--content'], env);
      assert.equal(content.code, 1);
      assert.match(
        content.stderr,
        /was mounted by another tool: whether it keeps what is read .* cannot be told\.\nMount with --cache-mode full/,
      );
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  });

  it('a folder on no mount: exit 1, saying so', async () => {
    const dir = fresh();
    const plain = join(dir, 'plain folder');
    mkdirSync(plain);
    const r = await cli(['prewarm', plain], cliEnv(box, dir));
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^No mount holds .*\/plain folder: there is nothing to warm\.\nMount the bucket first/);
  });

  it('--content on a writes-mode mount is refused (exit 1): it needs --cache-mode full', async () => {
    const dir = fresh();
    const { mnt, env } = await mount(dir);
    const r = await cli(['prewarm', join(mnt, 'cache_hub_v23'), '--content'], env);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /is mounted with cache mode "writes": it does not keep what is read/);
    assert.match(r.stderr, /Mount with --cache-mode full .*`rclone-devbox unmount .*mnt ü` first/);
    assert.doesNotMatch(r.stderr, /Remount|cacheMode/);
  });

  it('--content on a full-cache mount reads the files once, then skips them', async () => {
    const dir = fresh();
    const { mnt, env } = await mount(dir, ['--cache-mode', 'full']);
    const first = await cli(['prewarm', join(mnt, 'cache_hub_v23'), '--content'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '');
    const [warmed, read] = first.stdout.split('\n');
    assert.match(warmed!, RESULT);
    // The model; the folder's empty .keep marker has nothing to fetch, so it counts as cached.
    assert.match(
      read!,
      /^Read 3\.0 MB of 1 file into the VFS cache in \d+\.\d s; 1 file \(0 B\) was cached already and skipped$/,
    );
    const again = await cli(['prewarm', join(mnt, 'cache_hub_v23'), '--content', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    const j = JSON.parse(again.stdout) as { content: { files: number; bytes: number; skipped: number } };
    assert.deepEqual([j.content.files, j.content.bytes, j.content.skipped], [0, 0, 2]);
    const text = await cli(['prewarm', join(mnt, 'cache_hub_v23'), '--content'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout.split('\n')[1]!,
      /^Nothing to read: 2 files \(3\.0 MB\) are all in the VFS cache already$/,
    );
  });

  it('on a terminal, progress is one line rewritten with \\r (then cleared), the result on its own line', async () => {
    const dir = fresh();
    const { mnt, env } = await mount(dir, ['--cache-mode', 'full']);
    // script(1) runs the CLI on a pseudo-terminal: stderr is a TTY there.
    const cmd = sh([process.execPath, CLI, 'prewarm', join(mnt, 'cache_hub_v23'), '--content']);
    const r = await execa('script', ['-qefc', cmd, '/dev/null'], {
      env: { ...env, SHELL: '/bin/sh' },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    const tty = String(r.stdout);
    assert.equal(r.exitCode, 0, tty);
    // Each status write returns to the line's start and clears it (carriage return, erase line).
    const writes = tty.split('\r\u001b[K');
    assert.ok(
      writes.some((w) => /^listing… \d+ files known/.test(w)),
      tty,
    );
    assert.ok(
      writes.some((w) => /^\d+% · [\d.]+ [KMG]?B of 3\.0 MB/.test(w)),
      tty,
    );
    // The last one clears the line before the result is printed.
    assert.match(writes.at(-1)!, /^Warmed cache_hub_v23 on /);
    assert.ok(!tty.includes(SECRET_KEY));
  });

  it('Ctrl-C cancels a prewarm in progress: exit 130, no result line', async () => {
    const dir = fresh();
    // Every chunk to and from the server waits 1.5 s: a listing takes seconds.
    let proxy: Proxy | undefined;
    try {
      proxy = await startProxy(box.s3.port, 1_500);
      const conf = join(dir, 'slow.conf');
      writeFileSync(conf, s3Remote('slow', proxy.endpoint), { mode: 0o600 });
      const env = cliEnv(box, dir, { RCLONE_CONFIG: conf });
      const { mnt } = await mount(dir, ['--timeout', '60s'], env, 'slow:index-tts-data');
      const t0 = performance.now();
      const run = execa(process.execPath, [CLI, 'prewarm', join(mnt, 'cache_hub')], {
        env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        timeout: 60_000,
      });
      await new Promise((ok) => setTimeout(ok, 1_000));
      run.kill('SIGINT');
      const r = await run;
      assert.equal(r.exitCode, 130, String(r.stderr));
      assert.equal(String(r.stdout), '');
      assert.match(String(r.stderr), /^Cancelled: warming the directory cache\.$/m);
      assert.ok(performance.now() - t0 < 15_000, 'the cancel did not wait for the listing');
    } finally {
      await proxy?.stop();
    }
  });
});
