// Bad input is never interpreted and never loses anything (the fault matrix's "Bad input").
// Hostile names (spaces, 中文模型, quotes, $(…), ;, backticks, a newline, a leading "-",
// --config=/etc/passwd) as remote names, folder and file names in a bucket, mount points and link
// names go through the real CLI (dist/cli.js) and core's config editing, against real rclone, real
// FUSE and a real S3 server: each is listed, mounted, read, warmed and linked as itself. No shell
// ever sees one (the /tmp/pwned-<token> file never appears) and no rclone ever takes one for a flag
// (the argv of every rclone the test starts is sampled from /proc while each case runs). Broken
// configuration (a corrupt or cut rclone.conf, a remote without a type or with an unknown one, an
// rclone too old, a file or a symlink loop where a folder or link goes, 4,000-character paths,
// wrong types in settings.json and tasks.json) gives a clear error naming the thing, and changes
// nothing: the config's bytes, the mounts, the links and the state files are as they were.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { RcloneConfig } from '../../src/core/config';
import { isRcloneError, type RcloneError } from '../../src/core/errors';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { Rclone } from '../../src/core/rclone';
import { profileProblem, readWorkspace, validProfile } from '../../src/core/workspace';
import { cli, cliEnv, type CliRun } from '../helpers/cli';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp } from '../helpers/mounts';

const BUCKET = 'hostile-names';
/** Unique per run, so that two runs on one box never see each other's file. */
const TOKEN = randomBytes(6).toString('hex');
const PWNED = `/tmp/pwned-${TOKEN}`;
const PWNED_NAME = `pwned-${TOKEN}`;

/**
 * Names a shell or a flag parser would act on, each one path component (a "/" would make it a
 * folder path): what a shell would run creates ./pwned-<token> in the CLI's folder.
 */
const NAMES = [
  'with space',
  '中文模型',
  "single'quote",
  'double"quote',
  `$(touch ${PWNED_NAME})`,
  `a; touch ${PWNED_NAME}`,
  `\`touch ${PWNED_NAME}\``,
  'line\nbreak',
  '-leading-dash',
  '--config=passwd',
];
/** Pieces of a mount point path (joined with "/": here the "/" of /tmp/pwned and /etc/passwd may stay). */
const MOUNT_PARTS = [
  'm 中文模型',
  `'q' "d"`,
  `$(touch ${PWNED})`,
  `; \`touch ${PWNED}\``,
  'nl\nx',
  '-x',
  '--config=/etc/passwd',
];
/** Substrings that only user input carries: an rclone argument holding one came from the user. */
const FRAGMENTS = [TOKEN, '中文模型', 'with space', "single'quote", 'double"quote', '\n', '-leading-dash', '--config='];
/** Flags of ours whose value may hold (or be derived from) what the user gave. */
const OUR_VALUE_FLAGS = new Set(['--cache-dir', '--log-file', '--config']);

/** Fails (after removing it) if a shell ever ran one of the names: in /tmp, or in one of `dirs`. */
function assertNotPwned(dirs: string[]): void {
  for (const file of [PWNED, ...dirs.map((d) => join(d, PWNED_NAME))]) {
    if (!existsSync(file)) continue;
    rmSync(file, { force: true });
    assert.fail(`${file} appeared: a name was run by a shell`);
  }
}

/**
 * Samples, every 10 ms, the argv of each rclone whose environment or argv names `mark` (the case's
 * temp dir: its XDG_STATE_HOME is there), so only the rclones this test started are seen. Returns
 * each distinct argv once it is stopped.
 */
function sampleArgv(mark: string): { stop(): string[][] } {
  const seen = new Map<string, string[]>();
  const look = () => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
        if (!argv[0]?.endsWith('rclone')) continue;
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
        if (environ.includes(mark) || argv.some((a) => a.includes(mark))) seen.set(argv.join('\0'), argv);
      } catch {
        // gone meanwhile
      }
    }
  };
  look();
  const timer = setInterval(look, 10);
  return {
    stop() {
      clearInterval(timer);
      look();
      return [...seen.values()];
    },
  };
}

/**
 * Every argument that holds user input is either after the `--` that ends rclone's flags (and then
 * one of `whole`, exactly: never split, never joined with anything), or the value of a flag we chose.
 */
function assertArgvSafe(argvs: string[][], whole: string[]): void {
  for (const argv of argvs) {
    const end = argv.indexOf('--');
    argv.forEach((a, i) => {
      if (i === 0 || !FRAGMENTS.some((f) => a.includes(f))) return;
      const shown = JSON.stringify(argv);
      if (end >= 0 && i > end) assert.ok(whole.includes(a), `${JSON.stringify(a)} is not a whole argument in ${shown}`);
      else assert.ok(OUR_VALUE_FLAGS.has(argv[i - 1]!), `${JSON.stringify(a)} is before "--" in ${shown}`);
    });
  }
}

/** The entries `rclone-devbox ls` printed ("name/\t-" or "name\tsize" each); a name may hold a newline. */
function entries(stdout: string): Array<{ name: string; dir: boolean; size: number }> {
  return [...`${stdout}\n`.matchAll(/([\s\S]*?)(\/\t-|\t(\d+))\n/g)].map((m) => ({
    name: m[1]!,
    dir: m[2] === '/\t-',
    size: m[3] === undefined ? -1 : Number(m[3]),
  }));
}

const sorted = (xs: readonly string[]) => [...xs].sort();
/**
 * A name as rclone stores and lists it: rclone itself maps control characters to their Unicode
 * pictures (a newline is "␊") on the way in and back, so a newline never reaches a listing or a
 * mounted path as a line break. Every other name comes back byte for byte.
 */
const stored = (name: string) => name.replace(/\n/g, '\u240a');
const LISTED = NAMES.map(stored);
const body = (name: string) => `weights of ${name}\n`;

describe('bad input: hostile names are never interpreted', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  let ws: string;
  let mnt: string;
  before(async () => {
    box = await startBox([BUCKET]);
    const objects: Record<string, string> = {};
    for (const n of NAMES) {
      objects[`${n}/model.bin`] = body(n);
      objects[`files/${n}`] = n;
    }
    await putObjects(box, BUCKET, objects);
    work = tempDir('rdb-badinput-');
    env = cliEnv(box, work.path);
    ws = join(work.path, 'ws');
    mkdirSync(ws);
    mnt = join(work.path, 'mnt', ...MOUNT_PARTS);
  });
  after(async () => {
    if (work) await cleanUp([work.path]);
    await box?.dispose();
    work?.dispose();
    assertNotPwned([ws, process.cwd()].filter(Boolean));
  });

  /** Runs `case` while sampling its rclones; then no argv took user input as a flag and nothing was pwned. */
  async function guarded(whole: string[], work_: () => Promise<void>, expectRclone = true): Promise<void> {
    const sampler = sampleArgv(work.path);
    // The mount made by one case runs on through the next ones: its own arguments are whole too.
    whole = [...whole, `s3:${BUCKET}`, mnt];
    try {
      await work_();
    } finally {
      const argvs = sampler.stop();
      assertNotPwned([ws, process.cwd()]);
      if (expectRclone) assert.ok(argvs.length > 0, 'no rclone of this case was seen: the sampling saw nothing');
      assertArgvSafe(argvs, whole);
    }
  }
  const run = (args: string[]): Promise<CliRun> => cli(args, env, 60_000, ws);
  const ok = (r: CliRun) => assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const target = (...parts: string[]) => [BUCKET, ...parts].join('/');

  it('ls: the bucket, a folder of hostile file names and each hostile folder list the names put', async () => {
    const whole = [`s3:${target('files')}`, `s3:${target('files')}/`, 's3:'];
    for (const n of LISTED) whole.push(`s3:${target(n)}`, `s3:${target(n)}/`);
    await guarded(whole, async () => {
      const top = await run(['ls', `s3:${BUCKET}`]);
      ok(top);
      assert.deepEqual(
        sorted(entries(top.stdout).map((e) => e.name)),
        sorted([...LISTED, 'files']),
        JSON.stringify(top.stdout),
      );
      assert.ok(entries(top.stdout).every((e) => e.dir));
      const files = await run(['ls', `s3:${target('files')}`]);
      ok(files);
      assert.deepEqual(
        sorted(entries(files.stdout).map((e) => `${e.name}\t${e.size}`)),
        sorted(NAMES.map((n) => `${stored(n)}\t${Buffer.byteLength(n)}`)),
      );
      for (const n of NAMES) {
        // A name starting with "-" is an argument after `--` for the CLI too, as a user writes it.
        const r = await run(['ls', '--', `s3:${target(stored(n))}`]);
        ok(r);
        assert.deepEqual(entries(r.stdout), [{ name: 'model.bin', dir: false, size: Buffer.byteLength(body(n)) }]);
      }
    });
  });

  it('mount on a hostile mount point with a hostile cache dir; every hostile file reads back its bytes', async () => {
    const cacheDir = join(work.path, 'vfs', `$(touch ${PWNED})`, '-c 中文模型');
    await guarded([`s3:${BUCKET}`, mnt, 's3:'], async () => {
      const r = await run(['mount', `s3:${BUCKET}`, mnt, '--cache-dir', cacheDir, '--cache-mode', 'full']);
      ok(r);
      assert.equal(r.stdout.split(' (rclone pid')[0], `s3:${BUCKET} is mounted on ${mnt}`);
      const m = (await readRcloneMounts()).find((e) => e.mountPoint === mnt);
      assert.ok(m, `the kernel lists the mount on ${JSON.stringify(mnt)}`);
      assert.deepEqual(sorted(readdirSync(mnt)), sorted([...LISTED, 'files']));
      for (const n of NAMES) {
        assert.equal(readFileSync(join(mnt, stored(n), 'model.bin'), 'utf8'), body(n));
        assert.equal(readFileSync(join(mnt, 'files', stored(n)), 'utf8'), n);
      }
      // Mounting the same again is "already mounted", found by that same path.
      const again = await run(['mount', `s3:${BUCKET}`, mnt]);
      ok(again);
      assert.equal(again.stdout, `s3:${BUCKET} was already mounted on ${mnt}`);
    });
  });

  it('prewarm each hostile folder, and list it as a model version', async () => {
    await guarded(
      [],
      async () => {
        for (const n of LISTED) {
          const r = await run(['prewarm', '--', join(mnt, n)]);
          ok(r);
          // (The counts are the whole mount's directory cache, not the folder's.)
          assert.ok(r.stdout.startsWith(`Warmed ${n} on ${mnt}: `), JSON.stringify(r.stdout));
        }
        const v = await run(['versions', mnt, '--pattern', '*', '--json']);
        ok(v);
        const versions = JSON.parse(v.stdout) as Array<{ name: string; path: string }>;
        assert.deepEqual(sorted(versions.map((x) => x.name)), sorted([...LISTED, 'files']));
        for (const x of versions) assert.equal(x.path, join(mnt, x.name));
      },
      false, // neither runs rclone: prewarm speaks to the mount's rc, versions reads the mount
    );
  });

  it('link and rollback: hostile link names point at the hostile folders of those names', async () => {
    await guarded(
      [],
      async () => {
        for (const [i, as] of NAMES.entries()) {
          // The link's own name keeps its newline (a local file name); the folder is rclone's name.
          const link = join(ws, as);
          const first = LISTED[(i + 1) % NAMES.length]!;
          // --as=… keeps a value starting with "-" a value, as a user writes it.
          const a = await run(['link', `--as=${as}`, '--', join(mnt, first)]);
          ok(a);
          assert.equal(readlinkSync(link), join(mnt, first));
          const b = await run(['link', `--as=${as}`, '--', join(mnt, stored(as))]);
          ok(b);
          assert.equal(readlinkSync(link), join(mnt, stored(as)));
          assert.equal(readFileSync(join(link, 'model.bin'), 'utf8'), body(as));
          const back = await run(['rollback', `--as=${as}`]);
          ok(back);
          assert.equal(readlinkSync(link), join(mnt, first));
          assert.equal(readFileSync(join(link, 'model.bin'), 'utf8'), body(NAMES[(i + 1) % NAMES.length]!));
        }
        assert.deepEqual(sorted(readdirSync(ws)), sorted(NAMES), 'only the links were made');
      },
      false,
    );
  });

  it('status names the hostile mount point and a hostile model link; unmount ends the mount', async () => {
    const link = NAMES[4]!;
    mkdirSync(join(ws, '.vscode'));
    writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'rclone.modelLink': link }));
    await guarded(
      [],
      async () => {
        const s = await run(['status', '--json']);
        ok(s);
        const status = JSON.parse(s.stdout) as {
          mounts: Array<{ mountPoint: string; remote: string; state: string }>;
          links: Array<{ path: string; target: string; mountPoint: string; live: boolean }>;
        };
        const mine = status.mounts.filter((m) => m.mountPoint.startsWith(work.path));
        assert.deepEqual(
          mine.map((m) => [m.mountPoint, m.remote, m.state]),
          [[mnt, `s3:${BUCKET}`, 'mounted']],
        );
        assert.deepEqual(
          status.links.map((l) => [l.path, l.target, l.mountPoint, l.live]),
          [[join(ws, link), join(mnt, LISTED[5]!), mnt, true]],
        );
        const u = await run(['unmount', '--', mnt]);
        ok(u);
        assert.equal(u.stdout, `${mnt} is unmounted`);
        assert.equal(
          (await readRcloneMounts()).some((e) => e.mountPoint === mnt),
          false,
        );
      },
      false,
    );
  });

  describe('remote names, through core (the CLI has no command to add a remote)', () => {
    let dir: ReturnType<typeof tempDir>;
    let rclone: Rclone;
    let file: string;
    before(async () => {
      dir = tempDir('rdb-badinput-conf-');
      file = join(dir.path, 'rclone.conf');
      writeFileSync(file, s3Remote('s3', box.s3.endpoint), { mode: 0o600 });
      rclone = await Rclone.locate({ configFile: file });
    });
    after(() => dir?.dispose());

    /** Whether this rclone itself takes `name` as a remote name (on a throwaway config). */
    async function rcloneTakes(name: string): Promise<boolean> {
      const scratch = join(dir.path, 'scratch.conf');
      rmSync(scratch, { force: true });
      const r = await Rclone.locate({ configFile: scratch });
      return r.run(['config', 'create', '--', name, 'local'], { timeoutMs: 15_000 }).then(
        () => true,
        () => false,
      );
    }

    it('names rclone refuses are refused with ConfigInvalid naming them, and the file is not touched', async () => {
      const config = new RcloneConfig(rclone, file);
      const hostile = [...NAMES, `$(touch ${PWNED})`, '--config=/etc/passwd', '-lead', 'a]b', 'a:b', 'a/b', ' pad'];
      let refused = 0;
      for (const name of hostile) {
        const before = readFileSync(file);
        const values = { provider: 'Other', endpoint: box.s3.endpoint, access_key_id: 'S3RVER' };
        const ours = await config.setRemote(name, 's3', values).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (ours === undefined) {
          // Taken: rclone must take it as well, and find it by that name.
          assert.ok(await rcloneTakes(name), `${JSON.stringify(name)} was written, but rclone refuses that name`);
          assert.ok((await config.remotes()).some((r) => r.name === name));
          await config.removeRemote(name);
          assert.deepEqual(readFileSync(file), before);
          continue;
        }
        refused++;
        assert.ok(isRcloneError(ours, 'ConfigInvalid'), String(ours));
        assert.ok((ours as RcloneError).message.includes(`"${name}"`), (ours as RcloneError).message);
        assert.deepEqual(readFileSync(file), before, `the config changed for ${JSON.stringify(name)}`);
      }
      // Every one that this rclone refuses is refused by us (more are refused: 1.60 knows no 中文模型).
      for (const name of hostile)
        if (!(await rcloneTakes(name)))
          await assert.rejects(new RcloneConfig(rclone, file).setRemote(name, 's3', {}), (e) =>
            isRcloneError(e, 'ConfigInvalid'),
          );
      assert.ok(refused >= 10, `only ${refused} refused`);
      assertNotPwned([dir.path, process.cwd()]);
    });

    it('a name both take ("with space") and hostile values work through the CLI; a value with a newline is refused', async () => {
      const config = new RcloneConfig(rclone, file);
      const name = 'with space';
      const region = `$(touch ${PWNED}); \`touch ${PWNED}\``;
      await config.setRemote(name, 's3', {
        provider: 'Other',
        endpoint: box.s3.endpoint,
        access_key_id: 'S3RVER',
        secret_access_key: 'S3RVER',
        region,
      });
      const remote = (await config.remotes()).find((r) => r.name === name);
      assert.deepEqual(remote && [remote.type, remote.region], ['s3', region]);
      const before = readFileSync(file);
      await assert.rejects(
        config.setRemote(name, 's3', { region: 'us-east-1\n[evil]\ntype = local' }),
        (e) => isRcloneError(e, 'ConfigInvalid') && e.message.includes('region'),
      );
      assert.deepEqual(readFileSync(file), before);
      const sampler = sampleArgv(dir.path);
      const r = await cli(['ls', `${name}:${target('files')}`], { ...env, RCLONE_CONFIG: file }, 60_000, ws);
      const argvs = sampler.stop();
      ok(r);
      assert.deepEqual(sorted(entries(r.stdout).map((e) => e.name)), sorted(LISTED));
      assertArgvSafe(argvs, [`${name}:${target('files')}`, `${name}:${target('files')}/`]);
      assertNotPwned([ws, dir.path, process.cwd()]);
    });
  });
});

/** What is in `dir`, recursively: folders, symlinks (their targets) and files (their bytes); missing: {}. */
function snapshot(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const info = lstatSync(p);
      const key = relative(dir, p);
      if (info.isSymbolicLink()) found[key] = `link ${readlinkSync(p)}`;
      else if (info.isDirectory()) {
        found[key] = 'folder';
        walk(p);
      } else found[key] = `file ${readFileSync(p).toString('base64')}`;
    }
  };
  walk(dir);
  return found;
}

describe('bad input: broken configuration is named and changes nothing', () => {
  const BROKEN = 'broken-config';
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  before(async () => {
    box = await startBox([BROKEN]);
    await putObjects(box, BROKEN, { 'cache_hub/.keep': '', 'cache_hub/model.bin': 'weights' });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    if (work) await cleanUp([work.path]);
    work?.dispose();
    work = undefined;
  });

  /**
   * A case's own folder: `ws` (its rclone.conf, .vscode/, links) and the CLI's state under it.
   * `unchanged()` then says that nothing in ws or the state was touched and nothing is mounted.
   */
  function fresh(conf: string | Buffer = s3Remote('s3', box.s3.endpoint)) {
    work = tempDir('rdb-badconf-');
    const ws = join(work.path, 'ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    const configFile = join(ws, 'rclone.conf');
    writeFileSync(configFile, conf, { mode: 0o600 });
    const env = { ...cliEnv(box, work.path), RCLONE_CONFIG: configFile };
    const state = join(work.path, 'state');
    const mp = join(work.path, 'mnt', BROKEN);
    const root = work.path;
    let before: [Record<string, string>, Record<string, string>] = [{}, {}];
    // Not compared: lock folders, whose tombstones (`<lock>.<token>.broken`) stay a while by design
    // (lock.ts sweeps them after 10 min), and the mount log, which keeps rclone's own words on a
    // failed mount for whoever looks. Records, link histories and app records are compared.
    const kept = (x: Record<string, string>) =>
      Object.entries(x).filter(([k, v]) => v !== 'folder' && !/(^|\/)(\.rclone-devbox-locks|locks|logs)\//.test(k));
    return {
      ws,
      env,
      configFile,
      mp,
      run: (args: string[]) => cli(args, env, 60_000, ws),
      /** Takes the picture that unchanged() compares with (after the case's own set-up). */
      mark() {
        before = [snapshot(ws), snapshot(state)];
      },
      async unchanged() {
        assert.deepEqual(kept(snapshot(ws)), kept(before[0]), 'the folder (config, .vscode, links) changed');
        assert.deepEqual(kept(snapshot(state)), kept(before[1]), 'a state file changed');
        assert.deepEqual(
          (await readRcloneMounts()).filter((m) => m.mountPoint.startsWith(`${root}/`)),
          [],
          'something was mounted',
        );
        assert.equal(existsSync(mp), false, 'the mount point was created');
        assertNotPwned([ws]);
      },
    };
  }
  const failed = (r: CliRun, ...named: string[]) => {
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    for (const n of named) assert.ok(r.stderr.includes(n), `${JSON.stringify(n)} is not named in:\n${r.stderr}`);
  };

  const remote = () => s3Remote('s3', box.s3.endpoint);
  const corrupt: Array<[string, () => Buffer, number]> = [
    ['binary garbage', () => Buffer.from('89504e470d0a1a0a0000000d4948445200ff00fe', 'hex'), 1],
    ['a section header without "]"', () => Buffer.from(remote().replace('[s3]', '[s3')), 1],
    // Cut while it was being written, inside "endpoint = http://…" (no "=" left on that line).
    ['a partly written file', () => Buffer.from(remote().slice(0, remote().indexOf('endpoint') + 5)), 6],
  ];
  for (const [what, bytes, line] of corrupt) {
    it(`${what} in rclone.conf: ls, mount, remotes and an edit name the file and the line; nothing changes`, async () => {
      const f = fresh(bytes());
      f.mark();
      const where = `Line ${line} of ${f.configFile} cannot be read`;
      failed(await f.run(['ls', `s3:${BROKEN}`]), where);
      failed(await f.run(['mount', `s3:${BROKEN}`, f.mp]), where);
      failed(await f.run(['remotes']), where);
      const config = new RcloneConfig(await Rclone.locate({ configFile: f.configFile }), f.configFile);
      await assert.rejects(
        config.setRemote('added', 's3', { provider: 'Other' }),
        (e) => isRcloneError(e, 'ConfigInvalid') && e.message.startsWith(where),
      );
      await assert.rejects(config.removeRemote('s3'), (e) => isRcloneError(e, 'ConfigInvalid'));
      await f.unchanged();
    });
  }

  it('a remote without a type, and one of a type rclone has not: named with the file; nothing changes', async () => {
    const f = fresh(`${remote()}\n[untyped]\nprovider = Other\n\n[unknown]\ntype = nosuchbackend\n`);
    f.mark();
    for (const cmd of [
      ['ls', `untyped:${BROKEN}`],
      ['mount', `untyped:${BROKEN}`, f.mp],
    ])
      failed(await f.run(cmd), `The remote "untyped" in ${f.configFile} has no "type".`);
    for (const cmd of [
      ['ls', `unknown:${BROKEN}`],
      ['mount', `unknown:${BROKEN}`, f.mp],
    ])
      failed(await f.run(cmd), `The remote "unknown" in ${f.configFile} has the type "nosuchbackend"`);
    const config = new RcloneConfig(await Rclone.locate({ configFile: f.configFile }), f.configFile);
    await assert.rejects(
      config.setRemote('added', 'nosuchbackend', {}),
      (e) => isRcloneError(e, 'ConfigInvalid') && e.message.includes('"nosuchbackend"'),
    );
    await f.unchanged();
  });

  it('an rclone too old (a stand-in for rclone 1.53.3) is refused by ls, mount and doctor, and never run further', async () => {
    const f = fresh();
    // A stand-in for an old rclone: it answers `version` as rclone 1.53.3 did, and notes any other call.
    const old = join(work!.path, 'old-rclone');
    const calls = join(work!.path, 'old-rclone-calls');
    writeFileSync(
      old,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = version ] && { echo "rclone v1.53.3"; exit 0; }; done\necho "$@" >> '${calls}'\nexit 1\n`,
    );
    chmodSync(old, 0o755);
    const env = { ...f.env, RCLONE_DEVBOX_RCLONE: old };
    f.mark();
    const named = ['rclone 1.53.3 is installed at', old, 'needs 1.60.0 or newer'];
    failed(await cli(['ls', `s3:${BROKEN}`], env, 60_000, f.ws), ...named);
    failed(await cli(['mount', `s3:${BROKEN}`, f.mp], env, 60_000, f.ws), ...named);
    const doctor = await cli(['doctor'], env, 60_000, f.ws);
    assert.ok(doctor.code! >= 1, doctor.stdout);
    assert.match(doctor.stdout, /^FAIL rclone: rclone 1\.53\.3 is installed at .*needs 1\.60\.0 or newer/m);
    assert.equal(existsSync(calls), false, 'the old rclone was run for more than its version');
    await f.unchanged();
  });

  it('a mount point that is a file is refused by name, and the file keeps its bytes', async () => {
    const f = fresh();
    const file = join(f.ws, 'not-a-folder');
    writeFileSync(file, 'mine');
    f.mark();
    failed(await f.run(['mount', `s3:${BROKEN}`, file]), `The mount point ${file} is a file, not a folder.`);
    failed(await f.run(['mount', `s3:${BROKEN}`, join(file, 'below')]), `${join(file, 'below')} is not a folder path`);
    await f.unchanged();
  });

  it('4,000-character paths: an ls path lists empty, a link target off the mounts is refused, a mount point works', async () => {
    const f = fresh();
    const long = (root: string) => {
      let p = root;
      for (let i = 0; p.length < 4000; i++) p = join(p, `${String(i).padStart(3, '0')}${'x'.repeat(196)}`);
      return p.slice(0, 4000).replace(/\/$/, 'y');
    };
    f.mark();
    const key = long(BROKEN).slice(BROKEN.length + 1);
    assert.equal(`${BROKEN}/${key}`.length, 4000);
    // Object storage has no folders: a path nothing is stored under lists empty, however long
    // (rclone sends it as a prefix and S3 answers no keys), exactly as a short missing one does.
    const ls = await f.run(['ls', `s3:${BROKEN}/${key}`]);
    assert.deepEqual([ls.code, ls.stdout, ls.stderr], [0, '', '']);
    const target = long(join(work!.path, 'mnt', BROKEN));
    assert.equal(target.length, 4000);
    failed(await f.run(['link', target]), target, 'nothing was changed');
    await f.unchanged();
    // Under PATH_MAX (4,096) a mount point of 4,000 characters is a mount point like any other.
    const mp = long(join(work!.path, 'mnt'));
    const m = await f.run(['mount', `s3:${BROKEN}`, mp]);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(readFileSync(join(mp, 'cache_hub', 'model.bin'), 'utf8'), 'weights');
    const as = join(work!.path, 'links', 'cache_hub');
    const l = await f.run(['link', join(mp, 'cache_hub'), '--as', as]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(readFileSync(join(as, 'model.bin'), 'utf8'), 'weights');
    const u = await f.run(['unmount', mp]);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(
      (await readRcloneMounts()).some((e) => e.mountPoint === mp),
      false,
    );
  });

  it('a symlink loop at ./cache_hub (to itself; a → b → a): prewarm and rollback refuse by name; link replaces only the link', async () => {
    const f = fresh();
    const link = join(f.ws, 'cache_hub');
    const other = join(f.ws, 'b');
    symlinkSync(link, link);
    f.mark();
    failed(await f.run(['prewarm', './cache_hub']), `No mount holds ./cache_hub`);
    failed(await f.run(['rollback']), `${link} has no earlier target to go back to.`);
    const s = await f.run(['status', '--json']);
    const status = JSON.parse(s.stdout) as { links: Array<{ path: string; live: boolean; problem: string }> };
    assert.deepEqual(
      status.links.map((x) => [x.path, x.live]),
      [[link, false]],
    );
    await f.unchanged();
    // a → b → a
    rmSync(link);
    symlinkSync(other, link);
    symlinkSync(link, other);
    f.mark();
    failed(await f.run(['prewarm', './cache_hub']), `No mount holds ./cache_hub`);
    failed(await f.run(['rollback']), `${link} has no earlier target to go back to.`);
    await f.unchanged();
    // Linking replaces the loop (a symlink: no data) atomically; b is left; rollback brings the loop back.
    const m = await f.run(['mount', `s3:${BROKEN}`, f.mp]);
    assert.equal(m.code, 0, m.stderr);
    const l = await f.run(['link', join(f.mp, 'cache_hub')]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(readFileSync(join(link, 'model.bin'), 'utf8'), 'weights');
    assert.equal(readlinkSync(other), link);
    const back = await f.run(['rollback']);
    assert.equal(back.code, 1, 'the loop is not a folder on a mount: rollback refuses to point back at it');
    assert.equal(readlinkSync(link), join(f.mp, 'cache_hub'));
  });

  /** settings.json entries with a field of the wrong type, and the field each must be named by. */
  const wrongProfiles: Array<[string, Record<string, unknown>, string]> = [
    ['remote 5, mountPoint ["x"]', { remote: 5, mountPoint: ['x'] }, '"remote" is 5'],
    ['cacheMode 7', { cacheMode: 7 }, '"cacheMode" is 7'],
    ['warm "cache_hub"', { warm: 'cache_hub' }, '"warm" is "cache_hub", not a list of strings'],
    ['extraFlags "--daemon"', { extraFlags: '--daemon' }, '"extraFlags" is "--daemon", not a list of strings'],
    ['allowOther "yes"', { allowOther: 'yes' }, '"allowOther" is "yes", not a boolean'],
    ['cacheDir 5', { cacheDir: 5 }, '"cacheDir" is 5'],
  ];
  for (const [what, fields, named] of wrongProfiles) {
    it(`a profile with ${what} in settings.json: up and doctor name the field; the editor skips it; nothing mounts`, async () => {
      const f = fresh();
      const entry = { remote: `s3:${BROKEN}`, mountPoint: f.mp, ...fields };
      const settings = join(f.ws, '.vscode', 'settings.json');
      writeFileSync(settings, JSON.stringify({ 'rclone.mounts': [entry] }, null, 2));
      f.mark();
      const up = await f.run(['up', '--no-app']);
      failed(up, settings, 'the mount profile 1 of "rclone.mounts"', named);
      const doctor = await f.run(['doctor']);
      assert.ok(doctor.code! >= 1, doctor.stdout);
      assert.ok(doctor.stdout.includes(named), doctor.stdout);
      const status = await f.run(['status']);
      failed(status, named);
      // The editor reads the same entries through validProfile: a wrong type never reaches mount code.
      assert.equal(validProfile(entry as never), false);
      assert.ok(profileProblem(entry)?.startsWith(named), profileProblem(entry));
      await assert.rejects(readWorkspace(f.ws), (e) => isRcloneError(e, 'ConfigInvalid') && e.message.includes(named));
      await f.unchanged();
    });
  }

  /** tasks.json with a bad rclone-devbox task, and what `up` must name. */
  const badTasks: Array<[string, Record<string, unknown> | string, string]> = [
    ['no mount', { mount: undefined }, 'it has no "mount"'],
    ['a command that is not an array', { command: 'python webui.py' }, '"command" is not a list of arguments'],
    ['a readyUrl that is not a URL', { readyUrl: 'localhost:7860' }, '"readyUrl" localhost:7860 is not an http(s) URL'],
    ['a readyTimeout of "soon"', { readyTimeout: 'soon' }, '"readyTimeout" soon is not a duration'],
    ['a link that is not an object', { link: 'cache_hub' }, '"link" is not an object of strings'],
    ['invalid JSON', '{ "version": "2.0.0", "tasks": [ { "type": "rclone-devbox", ', 'tasks.json is not valid JSON'],
  ];
  for (const [what, task, named] of badTasks) {
    it(`a task with ${what}: up exits 1 naming it, and mounts, links and changes nothing`, async () => {
      const f = fresh();
      writeFileSync(
        join(f.ws, '.vscode', 'settings.json'),
        JSON.stringify({ 'rclone.mounts': [{ remote: `s3:${BROKEN}`, mountPoint: f.mp }] }),
      );
      const def = {
        type: 'rclone-devbox',
        label: 'webui',
        mount: `s3:${BROKEN}`,
        link: { cache_hub: 'cache_hub' },
        command: ['python3', '-c', 'pass'],
        readyUrl: 'http://127.0.0.1:1/',
        ...(typeof task === 'string' ? {} : task),
      };
      writeFileSync(
        join(f.ws, '.vscode', 'tasks.json'),
        typeof task === 'string' ? task : JSON.stringify({ version: '2.0.0', tasks: [def] }),
      );
      f.mark();
      failed(await f.run(['up']), named);
      assert.equal(existsSync(join(f.ws, 'cache_hub')), false);
      await f.unchanged();
    });
  }
});
