// The headless CLI as a user meets it: dist/cli.js in its own process against a real S3 server and
// real rclone. Command-line mistakes, --version, error messages fit for a shell, `ls | head`.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { duration } from '../../src/cli/args';
import { cliFix, EDITOR_WORDS } from '../../src/cli/fixes';
import { type ErrorKind, FIXES, RcloneError } from '../../src/core/errors';
import { CLI, cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, ROOT, s3Remote, seedFolder, startBox, tempDir } from '../helpers/fixtures';
import { rclonePidsWhere } from '../helpers/procs';
import { cleanUp, waitFor } from '../helpers/mounts';

describe('rclone-devbox CLI', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  before(async () => {
    box = await startBox(['models']);
    work = tempDir('rdb-cli-');
    env = cliEnv(box, work.path);
    await putObjects(box, 'models', { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'weights' });
    await seedFolder(box, 'models', 'big', 2_000);
  });
  after(async () => {
    if (work) await cleanUp([work.path]); // a regression that mounts after all (a refused --timeout) is undone
    await box?.dispose();
    work?.dispose();
  });

  it('--version names its own version (package.json) and the rclone it uses', async () => {
    const r = await cli(['--version'], env);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `rclone-devbox ${version}\nrclone ${box.rclone.version.text} (${box.rclone.path})`);
  });

  it('run as the installed command, Node does not first read a NODE_EXTRA_CA_CERTS bundle (the CLI speaks no TLS)', async () => {
    // A bundle that cannot be read makes Node say so at start-up: the launcher must skip it.
    const r = await execa(CLI, ['--version'], {
      env: { ...env, NODE_EXTRA_CA_CERTS: join(work.path, 'no-such-bundle.pem') },
      extendEnv: false,
      reject: false,
      timeout: 30_000,
    });
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.equal(String(r.stderr), '');
    assert.match(String(r.stdout), /^rclone-devbox /);
  });

  it("a missing or bad argument gets a message naming it and that command's usage, not the whole help", async () => {
    const cases: [string[], RegExp][] = [
      [['mount', 's3:models'], /^mount: missing <dir>\. Usage: rclone-devbox mount <remote:path> <dir> /],
      [['ls'], /^ls: missing <remote:path>\. Usage: rclone-devbox ls <remote:path> \[--limit N\]$/],
      [['unmount'], /^unmount: missing <dir>\./],
      [['ls', 's3:models', 'extra'], /^ls: unexpected argument "extra"\./],
      [['ls', 's3:models', '--wait', '3s'], /^ls: --wait is not an option of ls\./],
      [['ls', 's3:models', '--limit', '0'], /^ls: --limit "0" is not a whole number of 1 or more\./],
      [['ls', 's3:models', '--limit'], /^ls: --limit needs a value\./],
      [['ls', 's3:models', '--frob'], /^ls: unknown option --frob\./],
      [
        ['frob'],
        /^unknown command "frob" \(commands: remotes, ls, permissions, mounts, mount, unmount, repair, prewarm, versions, link, rollback, setup, up, copies, upload, status, doctor, install-rclone\)\./,
      ],
      [['mounts', '--json=yes'], /^mounts: --json takes no value\./],
      [
        ['versions', 'a', 'b'],
        /^versions: unexpected argument "b"\. Usage: rclone-devbox versions \[<mountpoint>\|<copy root>\] /,
      ],
      [['copies', 'extra'], /^copies: unexpected argument "extra"\. Usage: rclone-devbox copies \[--remove NAME\]/],
      [['copies', '--remove'], /^copies: --remove needs a value\./],
      [
        ['copies', '--remove', ' '],
        /^copies: --remove needs the name of a local version, e\.g\. --remove cache_hub_v23\./,
      ],
      [['upload', '--timeout', 'soon'], /^upload: --timeout "soon" is not a duration/],
    ];
    for (const [args, expected] of cases) {
      const r = await cli(args, env);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, expected, args.join(' '));
      assert.equal(r.stderr.split('\n').length <= 3, true, `one message, not the whole usage: ${r.stderr}`);
    }
  });

  it('durations: 30s, 10m, 1h30m, 500ms and plain seconds are read; abc, -1 and 0 are refused', async () => {
    assert.equal(duration('mount', 'timeout', '30s'), 30_000);
    assert.equal(duration('unmount', 'wait', '10m'), 600_000);
    assert.equal(duration('mount', 'timeout', '1h30m'), 5_400_000);
    assert.equal(duration('mount', 'timeout', '500ms'), 500);
    assert.equal(duration('mount', 'timeout', '90'), 90_000);
    assert.equal(duration('mount', 'timeout', '2.5'), 2_500);
    assert.equal(duration('unmount', 'wait', '0', 0), 0);
    const dir = join(work.path, 'never-made');
    for (const [args, expected] of [
      [['mount', 's3:models', dir, '--timeout', 'abc'], /^mount: --timeout "abc" is not a duration \(e\.g\. 30s/],
      [['mount', 's3:models', dir, '--timeout', '-1'], /^mount: --timeout needs a value, not "-1"\./],
      [['mount', 's3:models', dir, '--timeout=-1'], /^mount: --timeout "-1" is not a duration/],
      [['mount', 's3:models', dir, '--timeout', '0'], /^mount: --timeout must be more than 0, not "0"\./],
      [['unmount', dir, '--wait', '10 minutes'], /^unmount: --wait "10 minutes" is not a duration/],
    ] as const) {
      const r = await cli([...args], env);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, expected);
    }
    assert.equal(existsSync(dir), false, 'nothing was mounted or made');
  });

  it('errors speak of the shell, never of editor settings or commands, for every kind of error', async () => {
    for (const kind of Object.keys(FIXES) as ErrorKind[]) {
      const fix = cliFix(new RcloneError(kind, 'x'));
      assert.doesNotMatch(fix, EDITOR_WORDS, `${kind}: ${fix}`);
    }
    // Call sites' own editor advice is replaced too.
    assert.doesNotMatch(
      cliFix({ kind: 'RcloneMissing', fix: 'Point "rclone.path" at the rclone binary.' }, { configured: true }),
      EDITOR_WORDS,
    );
    const missing = await cli(['ls', 's3:models'], { ...env, RCLONE_DEVBOX_RCLONE: '/nonexistent/rclone' });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^The configured rclone path "\/nonexistent\/rclone" is not an executable file\.\nPoint RCLONE_DEVBOX_RCLONE at/,
    );
    const noRclone = await cli(['remotes'], { ...env, PATH: work.path });
    assert.match(
      noRclone.stderr,
      /^rclone is not installed \(not found on PATH\)\.\nRun `rclone-devbox install-rclone` .*RCLONE_DEVBOX_RCLONE/,
    );
    const noRemote = await cli(['ls', 'nosuch:models'], env);
    assert.equal(noRemote.code, 1);
    assert.match(
      noRemote.stderr,
      /^There is no remote called "nosuch" in the rclone config\.\nAdd it with `rclone config`/,
    );
    for (const r of [missing, noRclone, noRemote]) assert.doesNotMatch(r.stderr, EDITOR_WORDS);
  });

  it("rclone's own log lines follow an error only with -v or RCLONE_DEVBOX_VERBOSE=1", async () => {
    const conf = join(work.path, 'badkeys.conf');
    // s3rver checks V2 signatures only: with V2 signing a wrong secret is refused for real.
    writeFileSync(conf, `${s3Remote('bad', box.s3.endpoint, 'wrong-secret-value')}v2_auth = true\n`, { mode: 0o600 });
    const quiet = await cli(['ls', 'bad:models'], { ...env, RCLONE_CONFIG: conf });
    assert.equal(quiet.code, 1);
    assert.equal(quiet.stderr.trimEnd().split('\n').length, 2, `message and fix only: ${quiet.stderr}`);
    assert.match(quiet.stderr, /^The credentials for bad(?::models)? were refused\.\n/);
    assert.doesNotMatch(quiet.stderr, /\d{4}\/\d\d\/\d\d \d\d:\d\d|SignatureDoesNotMatch|wrong-secret-value/);
    for (const loud of [
      await cli(['ls', 'bad:models', '-v'], { ...env, RCLONE_CONFIG: conf }),
      await cli(['ls', 'bad:models'], { ...env, RCLONE_CONFIG: conf, RCLONE_DEVBOX_VERBOSE: '1' }),
    ]) {
      assert.match(loud.stderr, /SignatureDoesNotMatch/);
      assert.doesNotMatch(loud.stderr, /wrong-secret-value/);
    }
  });

  it('remotes, with none defined, says which config file it read', async () => {
    const empty = join(work.path, 'empty.conf');
    writeFileSync(empty, '', { mode: 0o600 });
    const r = await cli(['remotes'], { ...env, RCLONE_CONFIG: empty });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr.trim(),
      `No remotes in ${empty}, nor in RCLONE_CONFIG_<NAME>_TYPE variables. Add one with \`rclone config\`.`,
    );
    const some = await cli(['remotes'], env);
    assert.equal(some.stdout, `s3\ts3\tOther\t${box.s3.endpoint}\tfile`);
  });

  it('`ls … | head -3` exits quietly with status 0 and stops its rclone', async () => {
    // bash, for pipefail: the pipeline's status is the CLI's own. Arguments go as $0.. (no quoting).
    const r = await execa(
      'bash',
      ['-c', 'set -o pipefail; "$0" "$1" ls "$2" | head -3', process.execPath, CLI, 's3:models/big'],
      {
        env,
        extendEnv: false,
        reject: false,
        timeout: 30_000,
      },
    );
    assert.equal(r.stdout, ['.keep\t0', 'file-00001.bin\t16', 'file-00002.bin\t16'].join('\n'));
    assert.equal(r.stderr, '', 'no stack trace, no message');
    assert.equal(r.exitCode, 0);
    const lister = () =>
      rclonePidsWhere((argv) => argv.includes('lsjson') && argv.some((a) => a.startsWith('s3:models/big')));
    await waitFor(() => lister().length === 0, 3_000);
  });
});
