// `rclone-devbox permissions`: the built CLI against a real S3 server (s3rver) and real rclone.
// s3rver has no IAM: a key works for everything or (a wrong secret under V2 signing, the only
// signing it checks) for nothing, so the denials here are those of refused credentials; a write the
// server itself refuses (a storage class it does not have) is a failure that is not a denial.
// After each run the bucket holds exactly what it held before: the scratch object is never left.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { PermissionsJson } from '../../src/cli/permissions';
import { cliFix, EDITOR_WORDS } from '../../src/cli/fixes';
import { FIXES } from '../../src/core/errors';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';

const WRONG_SECRET = 'wrong-secret-cliperm-4321';
const SCRATCH = /\.rclone-devbox-permcheck-/;

describe('rclone-devbox permissions', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  before(async () => {
    box = await startBox(['models', 'outputs']);
    work = tempDir('rdb-cliperm-');
    writeFileSync(
      box.configFile,
      s3Remote('s3', box.s3.endpoint) +
        // s3rver checks V2 signatures only: with V2 signing a wrong secret is refused for real.
        `${s3Remote('bad', box.s3.endpoint, WRONG_SECRET)}v2_auth = true\n` +
        // Every upload refused by the server itself (400 InvalidStorageClass); reads and lists work.
        `${s3Remote('nowrite', box.s3.endpoint)}storage_class = NOT_A_CLASS\n`,
      { mode: 0o600 },
    );
    await putObjects(box, 'models', { 'cache_hub/gpt.pth': 'weights' });
    await putObjects(box, 'outputs', { 'run1/audio.wav': 'RIFF' });
    env = cliEnv(box, work.path);
  });
  after(async () => {
    await box?.dispose();
    work?.dispose();
  });

  /** Every object key of a bucket, through the working remote. */
  const keys = async (bucket: string) =>
    (await box.rclone.run(['lsf', '-R', '--files-only', '--', `s3:${bucket}`], { timeoutMs: 30_000 }))
      .split('\n')
      .filter(Boolean)
      .sort();

  /** Runs the CLI; no output may carry the wrong secret either (cli() checks the server's). */
  const run = async (args: string[]) => {
    const r = await cli(args, env, 60_000);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(WRONG_SECRET), `a secret reached the output: ${r.stdout}${r.stderr}`);
    return r;
  };

  it('good credentials: list, read, write and delete allowed, a verdict, exit status 0, the scratch object gone', async () => {
    const r = await run(['permissions', 's3:outputs']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), [
      'list    allowed',
      'read    allowed',
      'write   allowed',
      'delete  allowed',
      'All allowed: these credentials may list, read, write and delete under s3:outputs.',
    ]);
    assert.equal(r.stderr, '');
    assert.deepEqual(await keys('outputs'), ['run1/audio.wav']);

    // A folder, with --json: the scratch object went there, and nothing else is touched.
    const j = await run(['permissions', 's3:models/cache_hub/', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const report = JSON.parse(j.stdout) as PermissionsJson;
    assert.equal(report.version, 1);
    assert.equal(report.target, 's3:models/cache_hub');
    assert.equal(report.verdict, 'allowed');
    assert.deepEqual(Object.keys(report.operations), ['list', 'read', 'write', 'delete']);
    for (const c of Object.values(report.operations))
      assert.deepEqual(c, { verdict: 'allowed', kind: null, message: null });
    assert.match(report.scratch, /^s3:models\/cache_hub\/\.rclone-devbox-permcheck-[0-9a-f]{12}$/);
    assert.equal(report.readFrom, report.scratch);
    assert.equal(report.leftover, null);
    assert.deepEqual(await keys('models'), ['cache_hub/gpt.pth']);
  });

  it('a remote with a wrong secret: everything denied, the fix for refused credentials, exit status 1, nothing written', async () => {
    const r = await run(['permissions', 'bad:outputs']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 4), [
      'list    denied: The credentials for bad were refused',
      'read    denied: The credentials for bad were refused',
      'write   denied: The credentials for bad were refused',
      'delete  denied: The credentials for bad were refused',
    ]);
    assert.equal(lines[4], 'Not all allowed under bad:outputs: list, read, write, delete denied.');
    // The shell's fix (keys typed into `rclone config`, never on a command line), said once.
    assert.equal(r.stderr, cliFix({ kind: 'AuthFailed', fix: FIXES.AuthFailed }));
    assert.doesNotMatch(r.stderr, EDITOR_WORDS);

    const j = await run(['permissions', 'bad:outputs', '--json']);
    assert.equal(j.code, 1);
    const report = JSON.parse(j.stdout) as PermissionsJson;
    assert.equal(report.verdict, 'denied');
    for (const c of Object.values(report.operations))
      assert.deepEqual(c, { verdict: 'denied', kind: 'AuthFailed', message: 'The credentials for bad were refused.' });
    assert.equal(report.leftover, null);
    assert.deepEqual(await keys('outputs'), ['run1/audio.wav']);
  });

  it('an upload the server refuses: write failed (not a denial), a listed file is read instead, exit status 1', async () => {
    const r = await run(['permissions', 'nowrite:outputs/run1']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'list    allowed');
    assert.equal(lines[1], 'read    allowed (nowrite:outputs/run1/audio.wav)');
    assert.match(lines[2]!, /^write {3}failed: .*InvalidStorageClass/);
    assert.match(lines[3]!, /^delete {2}— Not tried: only an object this check wrote is deleted/);
    assert.equal(lines[4], 'Not all checked under nowrite:outputs/run1: write failed.');
    assert.equal(r.stderr, '', "rclone's own words are in the line: no generic advice");
    const j = JSON.parse((await run(['permissions', 'nowrite:outputs/run1', '--json'])).stdout) as PermissionsJson;
    assert.equal(j.verdict, 'error');
    assert.equal(j.operations.write.kind, 'Unknown');
    assert.equal(j.operations.delete.verdict, 'untested');
    assert.deepEqual(await keys('outputs'), ['run1/audio.wav']);
  });

  it('nothing could be tried (no such remote, no such bucket): the message and fix on stderr, as for any command, exit status 1', async () => {
    const none = await run(['permissions', 'nosuch:models']);
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '');
    assert.match(
      none.stderr,
      /^There is no remote called "nosuch" in the rclone config\.\nAdd it with `rclone config`/,
    );
    const bucket = await run(['permissions', 's3:no-such-bucket', '--json']);
    assert.equal(bucket.code, 1);
    assert.equal(bucket.stdout, '');
    assert.match(bucket.stderr, /^There is no bucket "no-such-bucket" on s3\.\n/);
    const buckets = await box.rclone.run(['lsf', '--dirs-only', '--', 's3:'], { timeoutMs: 30_000 });
    assert.deepEqual(buckets.split('\n').filter(Boolean).sort(), ['models/', 'outputs/'], 'no bucket was made');
  });

  it('a remote without a bucket, or no argument: a usage error, exit status 2, nothing tried', async () => {
    const root = await run(['permissions', 's3:']);
    assert.equal(root.code, 2);
    assert.match(
      root.stderr,
      /^permissions: "s3:" names no bucket: give remote:bucket or remote:bucket\/path\. Usage: rclone-devbox permissions <remote:bucket\[\/path\]> \[--json\]$/,
    );
    const missing = await run(['permissions']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^permissions: missing <remote:bucket\[\/path\]>\./);
    for (const b of ['models', 'outputs']) assert.ok(!(await keys(b)).some((k) => SCRATCH.test(k)), b);
  });
});
