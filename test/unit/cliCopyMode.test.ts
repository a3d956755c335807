// Copy mode through the CLI's other commands, on a box without FUSE: the preflight is pointed at a
// device that does not exist (RCLONE_DEVBOX_FUSE_DEVICE, which only our checks read), so "auto"
// copies; nothing may be mounted. The real S3 server; the local copies are made by `rclone-devbox
// up` itself, then `status`, `doctor`, `versions` / `link` / `rollback`, `copies` and `upload`
// are run on them as a user would, in the workspace folder. `versions` lists the bucket's versions
// too, and `link` copies one that is only there (the seed flow without FUSE): a copy cut off by
// Ctrl-C, behind the fault proxy, is left as `.partial` and continued by the next `link`.
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { CopiesJson } from '../../src/cli/copies';
import type { StatusJson } from '../../src/cli/status';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { freePort } from '../../src/core/processes';
import type { CopyVersion } from '../../src/cli/links';
import { CLI, cli, cliEnv, type CliRun } from '../helpers/cli';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { waitFor } from '../helpers/mounts';
import { rclonePidsWhere } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';

const BUCKET = 'index-tts-data';
const KB = 1024;
const MB = 1024 * KB;

/** A path or any text, matched literally inside a regular expression. */
const lit = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('copy mode in the CLI: status, doctor, versions / link / rollback, copies, upload (no FUSE)', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  let proxy: Proxy | undefined;
  let running: ResultPromise | undefined;

  before(async () => {
    box = await startBox([BUCKET]);
    await putObjects(box, BUCKET, {
      'cache_hub_v23/gpt.pth': 'G'.repeat(64 * KB),
      'cache_hub_v24/gpt.pth': 'H'.repeat(32 * KB),
      'cache_hub_v24/bpe.model': 'tokens',
      // Only in the bucket: big enough for a copy behind the slow proxy to be cut off midway.
      ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`cache_hub_v30/part-${i}.bin`, String(i).repeat(MB)])),
    });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    running?.kill('SIGKILL');
    await running?.catch(() => undefined);
    running = undefined;
    await proxy?.stop();
    proxy = undefined;
    if (work) {
      for (const pid of rclonePidsWhere((argv) => argv.some((a) => a.includes(work!.path))))
        process.kill(pid, 'SIGKILL');
      assert.ok(!(await readRcloneMounts()).some((m) => m.mountPoint.startsWith(work!.path)), 'nothing was mounted');
      work.dispose();
    }
    work = undefined;
  });

  /**
   * A workspace whose profile has `mode`, with two tasks: "v23" links ./cache_hub to cache_hub_v23
   * and ./outputs to outputs/box-1 (its outputs, uploaded every 5 min), "v24" links ./cache_hub to
   * cache_hub_v24. The CLI's env has no FUSE device.
   */
  function folder(mode: 'auto' | 'copy' | 'mount') {
    work = tempDir('rdb-clicopy-');
    const ws = join(work.path, 'ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    const mountPoint = join(work.path, 'mnt');
    const settings = (m: string) =>
      writeFileSync(
        join(ws, '.vscode', 'settings.json'),
        JSON.stringify({ 'rclone.mounts': [{ remote: `s3:${BUCKET}`, mountPoint, mode: m }] }),
      );
    settings(mode);
    const task = (label: string, link: Record<string, string>) => ({
      type: 'rclone-devbox',
      label,
      mount: `s3:${BUCKET}`,
      link,
      uploadEvery: '5m',
    });
    writeFileSync(
      join(ws, '.vscode', 'tasks.json'),
      JSON.stringify({
        version: '2.0.0',
        tasks: [
          task('v23', { cache_hub: 'cache_hub_v23', outputs: 'outputs/box-1' }),
          task('v24', { cache_hub: 'cache_hub_v24' }),
        ],
      }),
    );
    const fuse = join(work.path, 'no-such-fuse-device');
    const env = cliEnv(box, work.path, { RCLONE_DEVBOX_FUSE_DEVICE: fuse });
    const root = join(ws, '.rclone-devbox', 's3', BUCKET);
    const run = (args: string[], extra: Record<string, string> = {}) => cli(args, { ...env, ...extra }, 60_000, ws);
    const up = async (label: string) => {
      const r = await run(['up', '--no-app', '--task', label]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^storage local copies in .*\(mode "(?:auto|copy)"\)$/m);
    };
    return { ws, env, root, fuse, mountPoint, run, up, settings };
  }

  const lines = (r: CliRun) => r.stdout.split('\n');

  it('status: the mode and why, the local versions and the pending outputs; links to local copies are live (text and --json)', async () => {
    const f = folder('auto');
    await f.up('v23');
    writeFileSync(join(f.ws, 'outputs', 'take 1.wav'), 'RIFF take one'); // through the link

    const t = await f.run(['status']);
    assert.equal(t.code, 0, t.stderr);
    const out = lines(t);
    assert.deepEqual(
      out.filter((l) => !l.startsWith('  ')),
      ['mounts', 'links', 'copies', 'app'],
      t.stdout,
    );
    assert.ok(
      out.includes(`  ./cache_hub  → ${f.root}/cache_hub_v23 (local copy, 64 KB)`),
      `the model link reads as a local copy:\n${t.stdout}`,
    );
    assert.match(
      t.stdout,
      new RegExp(`^ {2}\\./outputs +→ ${lit(f.root)}/outputs/box-1 \\(local outputs, 1 pending\\)$`, 'm'),
    );
    const copies = out.slice(out.indexOf('copies') + 1, out.indexOf('app'));
    assert.deepEqual(copies, [
      `  s3:${BUCKET}: local copies (auto: FUSE is not available: ${f.fuse} does not exist) in ${f.root}`,
      '    * cache_hub_v23  64 KB',
      `    ./outputs → s3:${BUCKET}/outputs/box-1  1 pending`,
    ]);

    const j = await f.run(['status', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const status = JSON.parse(j.stdout) as StatusJson;
    assert.deepEqual(status.links[0], {
      path: join(f.ws, 'cache_hub'),
      kind: 'symlink',
      target: join(f.root, 'cache_hub_v23'),
      mountPoint: null,
      live: true,
      problem: null,
      localCopy: { root: f.root, version: 'cache_hub_v23', bytes: 64 * KB },
    });
    assert.deepEqual(status.copies, [
      {
        remote: `s3:${BUCKET}`,
        mountPoint: f.mountPoint,
        mode: 'auto',
        uses: 'copy',
        reason: `FUSE is not available: ${f.fuse} does not exist`,
        root: f.root,
        versions: [
          { name: 'cache_hub_v23', path: join(f.root, 'cache_hub_v23'), bytes: 64 * KB, partial: false, linked: true },
        ],
        outputs: [
          {
            link: join(f.ws, 'outputs'),
            local: join(f.root, 'outputs', 'box-1'),
            remote: `s3:${BUCKET}/outputs/box-1`,
            pendingUploads: 1,
          },
        ],
        pendingUploads: 1,
      },
    ]);

    // A cut-off copy is listed as partial, and a link to it is not live.
    mkdirSync(join(f.root, '.cache_hub_v24.partial'));
    writeFileSync(join(f.root, '.cache_hub_v24.partial', 'gpt.pth'), 'H'.repeat(KB));
    const partial = await f.run(['status']);
    assert.match(partial.stdout, /^ {4} {2}cache_hub_v24 {2}1\.0 KB {2}partial$/m);
    const cut = await f.run(['link', join(f.root, '.cache_hub_v24.partial')]);
    assert.equal(cut.code, 1);
    // Mode "copy": said as the profile's.
    f.settings('copy');
    const copy = JSON.parse((await f.run(['status', '--json'])).stdout) as StatusJson;
    assert.equal(copy.copies[0]!.mode, 'copy');
    assert.equal(copy.copies[0]!.reason, 'the profile\'s mode is "copy"');
    const copyText = await f.run(['status']);
    assert.match(
      copyText.stdout,
      new RegExp(`^ {2}s3:${BUCKET}: local copies \\(mode "copy"\\) in ${lit(f.root)}$`, 'm'),
    );
  });

  it('doctor: a missing FUSE is no problem in mode auto or copy, and one in mode mount; the copy disk and old pending outputs', async () => {
    const f = folder('auto');
    const before = await f.run(['doctor']);
    assert.equal(before.code, 0, `${before.stdout}\n${before.stderr}`);
    assert.equal(before.stderr, '');
    assert.match(
      before.stdout,
      new RegExp(
        `^-- {3}FUSE device ${lit(f.fuse)}: it does not exist \\(not needed: the profiles here use local copies\\)$`,
        'm',
      ),
    );
    assert.match(
      before.stdout,
      new RegExp(
        `^ok {3}mode of s3:${BUCKET}: local copies \\(auto: FUSE is not available: ${lit(f.fuse)} does not exist\\)$`,
        'm',
      ),
    );
    // Before the first bring-up: what is to be copied, against the free space.
    assert.match(
      before.stdout,
      new RegExp(
        `^ok {3}local copies ${lit(f.root)}: [\\d.]+ [KMGT]?B free; cache_hub_v23 to copy \\(64 KB\\), cache_hub_v24 to copy \\(32 KB\\)$`,
        'm',
      ),
    );
    assert.doesNotMatch(before.stdout, /^FAIL|VFS cache/m, 'no FUSE problem, no VFS cache to check');

    await f.up('v23');
    writeFileSync(join(f.ws, 'outputs', 'fresh.wav'), 'new');
    const fresh = await f.run(['doctor']);
    assert.equal(fresh.code, 0, fresh.stdout);
    assert.match(fresh.stdout, /; cache_hub_v23 copied \(64 KB\), cache_hub_v24 to copy \(32 KB\)$/m);
    assert.match(
      fresh.stdout,
      new RegExp(
        `^ok {3}outputs \\./outputs → s3:${BUCKET}/outputs/box-1: 1 file waits for upload, written in the last 10 min$`,
        'm',
      ),
    );
    // A file that has waited an hour (uploadEvery 5m): a warning, not a problem.
    const old = join(f.ws, 'outputs', 'old.wav');
    writeFileSync(old, 'old');
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(old, hourAgo, hourAgo);
    const stale = await f.run(['doctor']);
    assert.equal(stale.code, 0, stale.stdout);
    assert.match(
      stale.stdout,
      new RegExp(
        `^WARN outputs \\./outputs → s3:${BUCKET}/outputs/box-1: 2 files wait for upload; the oldest for 60 min, more than twice uploadEvery \\(5 min\\) — Upload them now: \`rclone-devbox upload\``,
        'm',
      ),
    );
    assert.equal(stale.stderr.trim(), '1 warning (not counted as a problem).');
    const uploaded = await f.run(['upload', '--task', 'v23']);
    assert.equal(uploaded.code, 0, uploaded.stderr);
    assert.match(
      (await f.run(['doctor'])).stdout,
      new RegExp(`^ok {3}outputs \\./outputs → s3:${BUCKET}/outputs/box-1: nothing waits for upload$`, 'm'),
    );

    f.settings('copy');
    const copy = await f.run(['doctor']);
    assert.equal(copy.code, 0, copy.stdout);
    assert.match(copy.stdout, new RegExp(`^ok {3}mode of s3:${BUCKET}: local copies \\(mode "copy"\\)$`, 'm'));

    f.settings('mount');
    const mount = await f.run(['doctor']);
    assert.equal(mount.code, 1, mount.stdout);
    assert.match(mount.stdout, new RegExp(`^FAIL FUSE device ${lit(f.fuse)}: it does not exist — Install FUSE`, 'm'));
    assert.doesNotMatch(mount.stdout, /mode of|local copies/);
  });

  it('versions, link and rollback between two local copies; a cut-off copy, a missing one and a folder off every mount are refused', async () => {
    const f = folder('auto');
    await f.up('v23');
    await f.up('v24'); // ./cache_hub → cache_hub_v24, cache_hub_v23 remembered
    const v = (name: string) => join(f.root, name);
    const link = join(f.ws, 'cache_hub');
    assert.equal(readlinkSync(link), v('cache_hub_v24'));

    const listed = await f.run(['versions']);
    assert.equal(listed.code, 0, listed.stderr);
    // The local copies with their sizes, and the version that is only in the bucket.
    assert.deepEqual(lines(listed), [
      `  cache_hub_v23  copied (64 KB)      ${v('cache_hub_v23')}`,
      `* cache_hub_v24  copied (32 KB)      ${v('cache_hub_v24')}`,
      `  cache_hub_v30  only in the bucket  s3:${BUCKET}/cache_hub_v30`,
    ]);
    const named = await f.run(['versions', f.root]);
    assert.equal(named.stdout, listed.stdout);
    const json = JSON.parse((await f.run(['versions', '--json'])).stdout) as Array<{ name: string; linked: boolean }>;
    assert.deepEqual(
      json.map((x) => [x.name, x.linked]),
      [
        ['cache_hub_v23', false],
        ['cache_hub_v24', true],
        ['cache_hub_v30', false],
      ],
    );

    const to23 = await f.run(['link', v('cache_hub_v23')]);
    assert.equal(to23.code, 0, to23.stderr);
    assert.equal(to23.stdout, `./cache_hub → ${v('cache_hub_v23')} (was ${v('cache_hub_v24')})`);
    assert.equal(readlinkSync(link), v('cache_hub_v23'));
    assert.match((await f.run(['versions'])).stdout, /^\* cache_hub_v23 /);
    const back = await f.run(['rollback']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, `./cache_hub → ${v('cache_hub_v24')} (was ${v('cache_hub_v23')})`);
    assert.equal(readlinkSync(link), v('cache_hub_v24'));

    // A copy that was cut off is never a target, nor anything in it.
    const partial = v('.cache_hub_v25.partial');
    mkdirSync(join(partial, 'sub'), { recursive: true });
    for (const target of [partial, join(partial, 'sub')]) {
      const r = await f.run(['link', target]);
      assert.equal(r.code, 1, target);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        new RegExp(
          `^${lit(target)} is a copy that was cut off \\(\\.partial\\), not a whole version: a link never points at one; nothing was changed\\.\\n`,
        ),
      );
      assert.match(r.stderr, /Bring the workspace up with a task that links cache_hub_v25/);
    }
    assert.doesNotMatch((await f.run(['versions', '--pattern', '*'])).stdout, /partial/);
    const missing = await f.run(['link', v('cache_hub_v99')]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      new RegExp(
        `^There is no version cache_hub_v99 in s3:${BUCKET}, nor a local copy of it in ${lit(f.root)} \\(versions: cache_hub_v23, cache_hub_v24, cache_hub_v30\\); nothing was changed\\.\\n`,
      ),
    );
    const theRoot = await f.run(['link', f.root]);
    assert.equal(theRoot.code, 1);
    assert.match(theRoot.stderr, /is the folder of the local copies, not a version in it/);
    // Off the copy root, a folder must still be on a live mount.
    const local = join(f.ws, 'local_v1');
    mkdirSync(local);
    const off = await f.run(['link', local]);
    assert.equal(off.code, 1);
    assert.match(off.stderr, /^No mount holds .*local_v1 .*nothing was changed\./);
    assert.equal(readlinkSync(link), v('cache_hub_v24'), 'no refused link changed anything');

    // A folder without a profile in copy mode: versions still needs its folder.
    const plain = join(work!.path, 'plain');
    mkdirSync(plain);
    const none = await cli(['versions'], f.env, 20_000, plain);
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /^versions: missing <mountpoint> \(.*plain has no local copies: no profile in copy mode\)\. Usage: /,
    );
  });

  it('copies: lists the local versions with sizes, * the linked one, partial the cut-off ones; --remove frees one, never the linked one', async () => {
    const f = folder('copy');
    await f.up('v23');
    await f.up('v24');
    const partial = join(f.root, '.cache_hub_v25.partial');
    mkdirSync(partial);
    writeFileSync(join(partial, 'gpt.pth'), 'P'.repeat(2 * KB));

    const listed = await f.run(['copies']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(lines(listed), [
      `s3:${BUCKET}: local copies (mode "copy") in ${f.root}`,
      '    cache_hub_v23   64 KB',
      '  * cache_hub_v24   32 KB',
      '    cache_hub_v25  2.0 KB  partial',
    ]);
    const json = JSON.parse((await f.run(['copies', '--json'])).stdout) as CopiesJson;
    assert.deepEqual(json, {
      version: 1,
      folder: f.ws,
      copies: [
        {
          remote: `s3:${BUCKET}`,
          root: f.root,
          versions: [
            {
              name: 'cache_hub_v23',
              path: join(f.root, 'cache_hub_v23'),
              bytes: 64 * KB,
              partial: false,
              linked: false,
            },
            {
              name: 'cache_hub_v24',
              path: join(f.root, 'cache_hub_v24'),
              bytes: 32 * KB + 6,
              partial: false,
              linked: true,
            },
            { name: 'cache_hub_v25', path: partial, bytes: 2 * KB, partial: true, linked: false },
          ],
        },
      ],
    });

    const linked = await f.run(['copies', '--remove', 'cache_hub_v24']);
    assert.equal(linked.code, 1);
    assert.match(
      linked.stderr,
      new RegExp(
        `^${lit(join(f.ws, 'cache_hub'))} points at ${lit(join(f.root, 'cache_hub_v24'))}: it is not removed\\.`,
      ),
    );
    assert.ok(existsSync(join(f.root, 'cache_hub_v24', 'gpt.pth')), 'the linked version is still there');
    const removed = await f.run(['copies', '--remove', 'cache_hub_v23']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `Removed cache_hub_v23 from ${f.root}: 64 KB freed.`);
    assert.equal(existsSync(join(f.root, 'cache_hub_v23')), false);
    const cut = await f.run(['copies', '--remove', 'cache_hub_v25']);
    assert.equal(cut.code, 0, cut.stderr);
    assert.equal(cut.stdout, `Removed the cut-off copy of cache_hub_v25 from ${f.root}: 2.0 KB freed.`);
    assert.equal(existsSync(partial), false);
    // The outputs folder is no version: never listed, never removed.
    const outputs = await f.run(['copies', '--remove', 'outputs']);
    assert.equal(outputs.code, 1);
    assert.match(outputs.stderr, /^There is no local version outputs \(local versions: cache_hub_v24\)\./);
    assert.ok(existsSync(join(f.root, 'outputs', 'box-1')));
    assert.deepEqual(lines(await f.run(['copies'])).slice(1), ['  * cache_hub_v24  32 KB']);
    const bad = await f.run(['copies', '--remove', '']);
    assert.equal(bad.code, 2);
  });

  it('upload: sends the pending outputs now and says how many; when it cannot, exit status 1 with the number left', async () => {
    const f = folder('auto');
    await f.up('v23');
    const nothing = await f.run(['upload']);
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.equal(nothing.stdout, 'No output file is waiting for upload.');
    writeFileSync(join(f.ws, 'outputs', 'take 1.wav'), 'RIFF take one');
    mkdirSync(join(f.ws, 'outputs', 'day 2'));
    writeFileSync(join(f.ws, 'outputs', 'day 2', 'take 2.wav'), 'RIFF take two');

    // The endpoint is down: nothing is uploaded, and the files are counted, not dropped.
    const dead = await freePort();
    const deadConf = join(work!.path, 'dead.conf');
    writeFileSync(deadConf, s3Remote('s3', `http://127.0.0.1:${dead}`), { mode: 0o600 });
    const failed = await f.run(['upload', '--timeout', '3s'], { RCLONE_CONFIG: deadConf });
    assert.equal(failed.code, 1, failed.stdout);
    assert.equal(failed.stdout, '');
    assert.match(failed.stderr, new RegExp(`^\\./outputs → s3:${BUCKET}/outputs/box-1: 2 files are not uploaded: `));
    assert.match(
      failed.stderr,
      /\n2 output files are left: they stay where they are and go up with the next rclone-devbox upload \(or up\)\.$/,
    );
    const pending = JSON.parse((await f.run(['status', '--json'])).stdout) as StatusJson;
    assert.equal(pending.copies[0]!.pendingUploads, 2);

    const r = await f.run(['upload']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Uploaded 2 output files.');
    for (const [key, text] of [
      ['take 1.wav', 'RIFF take one'],
      ['day 2/take 2.wav', 'RIFF take two'],
    ])
      assert.equal(
        await box.rclone.run(['cat', '--', `s3:${BUCKET}/outputs/box-1/${key}`], { timeoutMs: 30_000 }),
        text,
      );
    const again = await f.run(['upload']);
    assert.equal(again.stdout, 'No output file is waiting for upload.');
    const after = JSON.parse((await f.run(['status', '--json'])).stdout) as StatusJson;
    assert.equal(after.copies[0]!.pendingUploads, 0);

    // A task without outputs has nothing to upload.
    const v24 = await f.run(['upload', '--task', 'v24']);
    assert.equal(v24.code, 0, v24.stderr);
    assert.equal(v24.stdout, 'The task "v24" has no outputs: nothing to upload.');
  });

  /** The files of cache_hub_v30 (1 MB each) copied whole so far into `partial`. */
  const wholeParts = (partial: string) =>
    Array.from({ length: 8 }, (_, i) => join(partial, `part-${i}.bin`)).filter(
      (p) => existsSync(p) && statSync(p).size === MB,
    ).length;

  it("versions in copy mode lists the bucket's versions beside the local copies (text and --json); a bucket that cannot be listed leaves the local ones", async () => {
    const f = folder('auto');
    const v = (name: string) => join(f.root, name);
    const remote = (name: string) => `s3:${BUCKET}/${name}`;
    // Before any copy: every version is only in the bucket; an output folder is never a version.
    const fresh = await f.run(['versions', '--pattern', '*']);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(fresh.stderr, '');
    assert.deepEqual(
      lines(fresh),
      ['cache_hub_v23', 'cache_hub_v24', 'cache_hub_v30'].map((n) => `  ${n}  only in the bucket  ${remote(n)}`),
    );

    await f.up('v24');
    // A copy of cache_hub_v30 that was cut off: listed with what it holds, never as copied.
    mkdirSync(v('.cache_hub_v30.partial'));
    writeFileSync(join(v('.cache_hub_v30.partial'), 'part-0.bin'), 'x'.repeat(KB));
    const listed = await f.run(['versions']);
    assert.equal(listed.code, 0, listed.stderr);
    const cut = 'only in the bucket (1.0 KB copied so far)';
    const w = cut.length;
    assert.deepEqual(lines(listed), [
      `  cache_hub_v23  ${'only in the bucket'.padEnd(w)}  ${remote('cache_hub_v23')}`,
      `* cache_hub_v24  ${'copied (32 KB)'.padEnd(w)}  ${v('cache_hub_v24')}`,
      `  cache_hub_v30  ${cut}  ${remote('cache_hub_v30')}`,
    ]);
    const json = await f.run(['versions', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout) as CopyVersion[], [
      {
        name: 'cache_hub_v23',
        path: v('cache_hub_v23'),
        linked: false,
        local: false,
        bytes: null,
        partial: false,
        remote: remote('cache_hub_v23'),
      },
      {
        name: 'cache_hub_v24',
        path: v('cache_hub_v24'),
        linked: true,
        local: true,
        bytes: 32 * KB + 6,
        partial: false,
        remote: remote('cache_hub_v24'),
      },
      {
        name: 'cache_hub_v30',
        path: v('cache_hub_v30'),
        linked: false,
        local: false,
        bytes: KB,
        partial: true,
        remote: remote('cache_hub_v30'),
      },
    ]);

    // The endpoint is down: the local copies are listed all the same, and stderr says why the rest is missing.
    const dead = await freePort();
    const deadConf = join(work!.path, 'dead.conf');
    writeFileSync(deadConf, s3Remote('s3', `http://127.0.0.1:${dead}`), { mode: 0o600 });
    const down = await f.run(['versions'], { RCLONE_CONFIG: deadConf });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(lines(down), [`* cache_hub_v24  copied (32 KB)  ${v('cache_hub_v24')}`]);
    assert.match(
      down.stderr,
      new RegExp(
        `^The versions in s3:${BUCKET} are not listed \\(only the local copies\\): The endpoint of s3 cannot be reached\\.\\n`,
      ),
    );
    const downJson = await f.run(['versions', '--json'], { RCLONE_CONFIG: deadConf });
    assert.equal(downJson.code, 0, downJson.stderr);
    assert.deepEqual(
      (JSON.parse(downJson.stdout) as CopyVersion[]).map((x) => [x.name, x.local, x.remote]),
      [['cache_hub_v24', true, null]],
    );
    // Nothing local to list either: that is a failure.
    const none = await f.run(['versions', '--pattern', 'cache_hub_v23'], { RCLONE_CONFIG: deadConf });
    assert.equal(none.code, 1, none.stdout);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^The versions in s3:index-tts-data are not listed/);
  });

  it('link NAME copies a version that is only in the bucket, then links it; an unknown name is refused with what exists', async () => {
    const f = folder('auto');
    await f.up('v23');
    const v = (name: string) => join(f.root, name);
    const link = join(f.ws, 'cache_hub');

    const r = await f.run(['link', 'cache_hub_v24']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no progress line off a terminal');
    assert.equal(lines(r).length, 2, r.stdout);
    assert.match(
      lines(r)[0]!,
      new RegExp(`^copied s3:${BUCKET}/cache_hub_v24 → ${lit(v('cache_hub_v24'))} \\(32 KB in \\d+\\.\\d s\\)$`),
    );
    assert.equal(lines(r)[1], `./cache_hub → ${v('cache_hub_v24')} (was ${v('cache_hub_v23')})`);
    assert.equal(readlinkSync(link), v('cache_hub_v24'));
    assert.equal(readFileSync(join(link, 'bpe.model'), 'utf8'), 'tokens');
    assert.equal(existsSync(v('.cache_hub_v24.partial')), false, 'no .partial left');
    assert.match((await f.run(['versions'])).stdout, /^\* cache_hub_v24 {2}copied \(32 KB\) /m);

    // Copied now: linked again without copying.
    const again = await f.run(['link', 'cache_hub_v24']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `./cache_hub already points at ${v('cache_hub_v24')}`);
    // A path under the copy root works as before; rollback only goes back to whole local copies.
    const byPath = await f.run(['link', `.rclone-devbox/s3/${BUCKET}/cache_hub_v23`]);
    assert.equal(byPath.code, 0, byPath.stderr);
    assert.equal(byPath.stdout, `./cache_hub → ${v('cache_hub_v23')} (was ${v('cache_hub_v24')})`);
    const back = await f.run(['rollback']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(readlinkSync(link), v('cache_hub_v24'));

    const unknown = await f.run(['link', 'cache_hub_v99']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.equal(
      unknown.stderr,
      `There is no version cache_hub_v99 in s3:${BUCKET}, nor a local copy of it in ${f.root} (versions: cache_hub_v23, cache_hub_v24, cache_hub_v30); nothing was changed.\n` +
        '`rclone-devbox versions` lists the versions, copied and in the bucket.',
    );
    assert.equal(readlinkSync(link), v('cache_hub_v24'), 'the refused link changed nothing');
    assert.equal(existsSync(v('cache_hub_v99')) || existsSync(v('.cache_hub_v99.partial')), false);
  });

  it('on a terminal, the copy of link NAME shows its progress on one line rewritten with \\r, then cleared', async () => {
    const f = folder('copy');
    const v23 = join(f.root, 'cache_hub_v23');
    // script(1) runs the CLI on a pseudo-terminal: stderr is a TTY there.
    const cmd = [process.execPath, CLI, 'link', 'cache_hub_v23']
      .map((w) => `'${w.replaceAll("'", `'\\''`)}'`)
      .join(' ');
    const r = await execa('script', ['-qefc', cmd, '/dev/null'], {
      env: { ...f.env, SHELL: '/bin/sh' },
      extendEnv: false,
      cwd: f.ws,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    const tty = String(r.stdout);
    assert.equal(r.exitCode, 0, tty);
    const writes = tty.split('\r\u001b[K');
    assert.ok(
      writes.some((w) => w.startsWith(`copying s3:${BUCKET}/cache_hub_v23`)),
      tty,
    );
    // The last write clears the line; the result lines follow on their own.
    assert.match(
      writes.at(-1)!,
      new RegExp(
        `^copied s3:${BUCKET}/cache_hub_v23 → ${lit(v23)} \\(64 KB in \\d+\\.\\d s\\)\\r?\\n\\./cache_hub → ${lit(v23)}\\s*$`,
      ),
    );
    assert.equal(readlinkSync(join(f.ws, 'cache_hub')), v23);
  });

  it('Ctrl-C during the copy of link NAME links nothing and leaves a .partial; the next link continues it', async () => {
    const f = folder('copy');
    await f.up('v23');
    const link = join(f.ws, 'cache_hub');
    const v30 = join(f.root, 'cache_hub_v30');
    const partial = join(f.root, '.cache_hub_v30.partial');
    // The same remote, through the slow proxy.
    proxy = await startProxy(box.s3.port, 40);
    const conf = join(work!.path, 'proxy.conf');
    writeFileSync(conf, s3Remote('s3', proxy.endpoint), { mode: 0o600 });
    const env = { ...f.env, RCLONE_CONFIG: conf };
    const child = execa(process.execPath, [CLI, 'link', 'cache_hub_v30'], {
      env,
      extendEnv: false,
      cwd: f.ws,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    running = child;
    await waitFor(() => wholeParts(partial) >= 2 || child.exitCode !== null, 60_000);
    proxy.hold(); // the copy cannot finish while the CLI is being stopped
    child.kill('SIGINT');
    const r = await child;
    running = undefined;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.equal(String(r.stdout), '');
    assert.equal(
      String(r.stderr),
      `Copying s3:${BUCKET}/cache_hub_v30 was cancelled; ./cache_hub was not changed. What was copied stays in ${partial}: the next link (or up) continues it.`,
    );
    assert.equal(readlinkSync(link), join(f.root, 'cache_hub_v23'), 'the link is unchanged');
    assert.equal(existsSync(v30), false, 'nothing under the final name');
    const kept = wholeParts(partial);
    assert.ok(kept >= 2 && kept < 8, `the .partial keeps what was copied (${kept} of 8 files whole)`);
    await waitFor(() => rclonePidsWhere((argv) => argv.includes(partial)).length === 0, 5_000);
    proxy.release();
    proxy.setDelay(0);
    const cutOff = (JSON.parse((await f.run(['versions', '--json'])).stdout) as CopyVersion[]).find(
      (x) => x.name === 'cache_hub_v30',
    );
    assert.deepEqual([cutOff?.local, cutOff?.partial], [false, true], 'versions shows the cut-off copy');

    const before = proxy.bytesDown();
    const next = await cli(['link', 'cache_hub_v30'], env, 60_000, f.ws);
    assert.equal(next.code, 0, next.stderr);
    const fetched = proxy.bytesDown() - before;
    assert.ok(fetched < 7 * MB, `continued: ${fetched} of ${8 * MB} bytes fetched again`);
    assert.match(
      lines(next)[0]!,
      new RegExp(`^copied s3:${BUCKET}/cache_hub_v30 → ${lit(v30)} \\(8\\.0 MB in \\d+\\.\\d s\\)$`),
    );
    assert.equal(lines(next)[1], `./cache_hub → ${v30} (was ${join(f.root, 'cache_hub_v23')})`);
    for (let i = 0; i < 8; i++) assert.equal(readFileSync(join(link, `part-${i}.bin`), 'utf8'), String(i).repeat(MB));
    assert.equal(existsSync(partial), false, 'no .partial left');
  });
});
