// `rclone-devbox install-rclone` and the rclone the CLI uses afterwards, against a local HTTP server
// that stands in for rclone's download site (test/helpers/releaseSite.ts: a release built from this
// machine's rclone). PATH holds only a stand-in rclone, a shell script that says "rclone v1.53.3"
// (Ubuntu 22.04's apt rclone, below our floor of 1.60): the CLI then uses the installed one, and
// the stand-in is left as it was. HOME and the XDG folders are temp folders, removed in `after`.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { isRcloneError } from '../../src/core/errors';
import { Rclone } from '../../src/core/rclone';
import { CLI, cli } from '../helpers/cli';
import { tempDir } from '../helpers/fixtures';
import { type ReleaseSite, startReleaseSite } from '../helpers/releaseSite';

const STAND_IN = '#!/bin/sh\necho "rclone v1.53.3"\necho "- os/version: stand-in"\n';

describe('rclone-devbox install-rclone (a local stand-in for downloads.rclone.org)', () => {
  let work: ReturnType<typeof tempDir>;
  let site: ReleaseSite;
  /** A folder holding only the stand-in rclone (1.53.3). */
  let standInBin: string;
  /** This machine's real rclone (the one the release is built from). */
  let realRclone: string;
  let n = 0;

  before(async () => {
    work = tempDir('rdb-cli-install-');
    site = await startReleaseSite();
    realRclone = (await Rclone.locate({})).path;
    standInBin = join(work.path, 'stand-in-bin');
    mkdirSync(standInBin);
    writeFileSync(join(standInBin, 'rclone'), STAND_IN);
    chmodSync(join(standInBin, 'rclone'), 0o755);
  });
  after(async () => {
    await site?.close();
    work?.dispose();
  });

  /** A fresh user: HOME, XDG folders, an empty rclone config, PATH with only the stand-in. */
  function user(extra: Record<string, string> = {}) {
    const home = join(work.path, `home${++n}`);
    mkdirSync(home);
    const conf = join(home, 'rclone.conf');
    writeFileSync(conf, '');
    const env: Record<string, string> = {
      HOME: home,
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CACHE_HOME: join(home, 'cache'),
      XDG_STATE_HOME: join(home, 'state'),
      XDG_CONFIG_HOME: join(home, 'config'),
      PATH: standInBin,
      LANG: 'C.UTF-8',
      RCLONE_CONFIG: conf,
      RCLONE_DEVBOX_DOWNLOAD_URL: site.base,
      ...extra,
    };
    return { home, env, bin: join(home, 'data', 'rclone-devbox', 'bin') };
  }
  const standInUntouched = () => {
    assert.equal(readFileSync(join(standInBin, 'rclone'), 'utf8'), STAND_IN, "PATH's stand-in is as it was");
    assert.deepEqual(readdirSync(standInBin), ['rclone']);
  };
  /** doctor's rclone line, run in an empty folder. */
  async function doctorLines(env: Record<string, string>, args: string[] = []) {
    const folder = join(env.HOME!, 'plain');
    mkdirSync(folder, { recursive: true });
    const r = await cli(['doctor', ...args], env, 60_000, folder);
    return { r, lines: r.stdout.split('\n').filter(Boolean) };
  }

  it('installs into $XDG_DATA_HOME/rclone-devbox/bin; --version and ls then use it, not the old stand-in on PATH', async () => {
    site.reset();
    const u = user();
    const r = await cli(['install-rclone'], u.env, 120_000);
    assert.equal(r.code, 0, r.stderr);
    const installed = join(u.bin, 'rclone');
    assert.equal(
      r.stdout,
      `installed rclone ${site.version} in ${installed} (${/\(([\d.]+ MB) downloaded\)/.exec(r.stdout)?.[1]} downloaded)`,
    );
    assert.equal(r.stderr, '', 'no progress line when stderr is not a terminal, and no note: ours is used');
    assert.equal(site.versionAsked, 1, 'the newest version asked once');
    assert.deepEqual(readdirSync(u.bin), ['rclone']);
    assert.equal(statSync(installed).mode & 0o777, 0o755);
    standInUntouched();

    const v = await cli(['--version'], u.env);
    assert.equal(v.code, 0, v.stderr);
    assert.match(
      v.stdout,
      new RegExp(`^rclone-devbox \\S+\\nrclone v${site.version.replaceAll('.', '\\.')}\\S* \\(${installed}\\)$`),
    );

    const data = join(u.home, 'files');
    mkdirSync(join(data, 'sub'), { recursive: true });
    writeFileSync(join(data, 'a.txt'), 'hello');
    const ls = await cli(['ls', `loc:${data}`], { ...u.env, RCLONE_CONFIG_LOC_TYPE: 'local' });
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.split('\n').filter(Boolean).sort(), ['a.txt\t5', 'sub/\t-']);

    // Installed again: replaced by rename, the stand-in still untouched.
    const again = await cli(['install-rclone', '--version', site.version], u.env, 120_000);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(site.versionAsked, 1, '--version X: the newest is not asked');
    assert.deepEqual(readdirSync(u.bin), ['rclone']);
    standInUntouched();

    // doctor: the rclone line says where it came from; the download site is not asked.
    const d = await doctorLines(u.env);
    assert.ok(d.lines.includes(`ok   rclone ${site.version} at ${installed} (installed by rclone-devbox)`), d.r.stdout);
    assert.equal(site.versionAsked, 1, 'doctor without --check-updates never asks the download site');
  });

  it('with no rclone on PATH at all, the installed one is used too', async () => {
    site.reset();
    const u = user();
    const r = await cli(['install-rclone'], { ...u.env, PATH: '' }, 120_000);
    assert.equal(r.code, 0, r.stderr);
    const v = await cli(['--version'], { ...u.env, PATH: join(work.path, 'nothing-here') });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, new RegExp(`\\(${join(u.bin, 'rclone')}\\)$`));
  });

  it('without an installed one, an old rclone on PATH is refused with install-rclone as the first fix', async () => {
    const u = user();
    const v = await cli(['--version'], u.env);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      /^rclone 1\.53\.3 is installed at \S+\/stand-in-bin\/rclone; Rclone Dev Box needs 1\.60\.0 or newer\.\nRun `rclone-devbox install-rclone` /,
    );
    const none = await cli(['--version'], { ...u.env, PATH: join(work.path, 'nothing-here') });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^rclone is not installed \(not found on PATH\)\.\nRun `rclone-devbox install-rclone` /);
  });

  it("doctor's rclone line names its source: PATH, RCLONE_DEVBOX_RCLONE", async () => {
    const u = user();
    const path = await doctorLines({ ...u.env, PATH: dirname(realRclone) });
    assert.ok(
      path.lines.some((l) => new RegExp(`^ok {3}rclone \\d+\\.\\d+\\.\\d+\\S* at ${realRclone} \\(PATH\\)$`).test(l)),
      path.r.stdout,
    );
    const configured = await doctorLines({ ...u.env, RCLONE_DEVBOX_RCLONE: realRclone });
    assert.ok(
      configured.lines.some((l) =>
        new RegExp(`^ok {3}rclone \\S+ at ${realRclone} \\(RCLONE_DEVBOX_RCLONE\\)$`).test(l),
      ),
      configured.r.stdout,
    );
  });

  it('doctor --check-updates: a newer version on the site is an info line; an unreachable site a warning', async () => {
    site.reset();
    const u = user();
    assert.equal((await cli(['install-rclone'], u.env, 120_000)).code, 0);
    site.latest = '99.0.0';
    const asked = site.versionAsked;
    const newer = await doctorLines(u.env, ['--check-updates']);
    assert.equal(site.versionAsked, asked + 1);
    assert.ok(
      newer.lines.includes(
        `--   a newer rclone is available: 99.0.0 (this one: ${site.version}); \`rclone-devbox install-rclone\` updates it`,
      ),
      newer.r.stdout,
    );
    const plain = await doctorLines(u.env);
    assert.equal(newer.r.code, plain.r.code, 'not counted as a problem');

    site.latest = site.version;
    const same = await doctorLines(u.env, ['--check-updates']);
    assert.ok(
      same.lines.some((l) => l.startsWith(`--   rclone ${site.version} is the newest`)),
      same.r.stdout,
    );

    const down = await doctorLines({ ...u.env, RCLONE_DEVBOX_DOWNLOAD_URL: 'http://127.0.0.1:9' }, ['--check-updates']);
    assert.ok(
      down.lines.some((l) => /^WARN rclone updates: Could not download http:\/\/127\.0\.0\.1:9\/version\.txt/.test(l)),
      down.r.stdout,
    );
    assert.equal(down.r.code, plain.r.code, 'a warning, not a problem');
  });

  it('a corrupted archive: exit 1, nothing in the bin folder', async () => {
    site.reset();
    site.mode = 'corrupt';
    const u = user();
    const r = await cli(['install-rclone', '--base-url', site.base], { ...u.env, RCLONE_DEVBOX_DOWNLOAD_URL: '' });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /does not match its SHA256SUMS entry .*nothing was installed/);
    assert.ok(!existsSync(u.bin) || readdirSync(u.bin).length === 0, 'nothing in the bin folder');
    standInUntouched();
  });

  it("no way to the site: exit 1, core's message and the manual steps, the CLI's way", async () => {
    const u = user({ RCLONE_DEVBOX_DOWNLOAD_URL: 'http://127.0.0.1:9' });
    const r = await cli(['install-rclone'], u.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Could not download http:\/\/127\.0\.0\.1:9\/version\.txt: /);
    assert.ok(r.stderr.includes(`copy its rclone binary to ${join(u.bin, 'rclone')} (chmod +x)`), r.stderr);
    assert.doesNotMatch(r.stderr, /rclone\.path|VS Code/);
    assert.equal(existsSync(u.bin), false, 'no folder left');
  });

  it('Ctrl-C cancels: exit 130, nothing left', async () => {
    site.reset();
    site.mode = 'slow';
    const u = user();
    const child = execa(process.execPath, [CLI, 'install-rclone'], {
      env: u.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    try {
      const t0 = Date.now();
      while (site.bytesSent < 256 * 1024 && Date.now() - t0 < 30_000) await new Promise((ok) => setTimeout(ok, 20));
      child.kill('SIGINT');
      const r = await child;
      assert.equal(r.exitCode, 130, String(r.stderr));
      assert.match(String(r.stderr), /^Cancelled: downloading /);
      assert.ok(!existsSync(u.bin) || readdirSync(u.bin).length === 0, 'nothing left');
    } finally {
      child.kill('SIGKILL');
      await child;
    }
  });

  it('refuses a version that is not one', async () => {
    const r = await cli(['install-rclone', '--version', 'latest'], user().env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^install-rclone: --version "latest" is not an rclone version/);
  });

  it('Rclone.locate: the fallback only without a configured path, and only when PATH has none or a too old one', async () => {
    const u = user();
    mkdirSync(u.bin, { recursive: true });
    const fallback = join(u.bin, 'rclone');
    const env = { PATH: standInBin };
    // None installed yet: PATH's stand-in is refused as too old.
    await assert.rejects(Rclone.locate({ env, fallback }), (e) => isRcloneError(e, 'RcloneTooOld'));
    writeFileSync(fallback, readFileSync(realRclone));
    chmodSync(fallback, 0o755);
    assert.equal((await Rclone.locate({ env, fallback })).path, fallback);
    assert.equal((await Rclone.locate({ env: { PATH: '' }, fallback })).path, fallback);
    assert.equal((await Rclone.locate({ env: { PATH: dirname(realRclone) }, fallback })).path, realRclone);
    // A configured path is used as it is: never replaced by the fallback.
    await assert.rejects(Rclone.locate({ env, fallback, path: join(standInBin, 'rclone') }), (e) =>
      isRcloneError(e, 'RcloneTooOld'),
    );
    // No fallback (the editor): as before.
    await assert.rejects(Rclone.locate({ env }), (e) => isRcloneError(e, 'RcloneTooOld'));
  });
});
