// Credentials the endpoint no longer takes: short-lived (STS) credentials that expired, keys that
// were revoked. Real rclone, real FUSE mounts on a real S3 server (s3rver); the one stub is the
// endpoint's refusal itself (test/helpers/s3stub.ts: s3rver ignores session tokens and cannot expire
// them), answering as AWS does, either alone or in front of s3rver once "the token has run out".
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { StatusJson } from '../../src/cli/status';
import { cliFix, EDITOR_WORDS } from '../../src/cli/fixes';
import { classify, type ErrorKind, FIXES, isRcloneError } from '../../src/core/errors';
import { listFolder } from '../../src/core/listing';
import { CredentialWatch } from '../../src/core/liveness';
import { type Mount, MountRegistry } from '../../src/core/mounts';
import type { MountProfile } from '../../src/core/profile';
import { Rclone } from '../../src/core/rclone';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, records, waitFor } from '../helpers/mounts';
import { type S3ErrorCode, type S3Stub, startS3Stub } from '../helpers/s3stub';

/** A remote with an STS-style session token (a made-up one: s3rver does not look at it). */
const stsRemote = (name: string, endpoint: string) =>
  `${s3Remote(name, endpoint)}session_token = FQoGZXIvYXdzEXAMPLE\n`;

describe('credentials that expired or were refused', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  const stubs: S3Stub[] = [];
  let registry: MountRegistry | undefined;
  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', {
      'cache_hub/gpt.pth': 'weights',
      'cache_hub_v2/gpt.pth': 'weights 2',
      'voices/a.wav': 'a',
      'more/b.bin': 'b',
      'other/c.bin': 'c',
    });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    registry?.dispose();
    registry = undefined;
    if (work) await cleanUp([work.path]);
    for (const s of stubs.splice(0)) await s.stop();
    work?.dispose();
    work = undefined;
  });
  const fresh = () => (work = tempDir('rdb-creds-')).path;

  /** An rclone whose config has remote `name` at `endpoint` (with a session token). */
  async function rcloneAt(dir: string, name: string, endpoint: string): Promise<{ rclone: Rclone; conf: string }> {
    const conf = join(dir, `${name}.conf`);
    writeFileSync(conf, stsRemote(name, endpoint), { mode: 0o600 });
    return { rclone: await Rclone.locate({ configFile: conf }), conf };
  }

  describe('a listing the endpoint refuses is classified, with the fix', () => {
    const cases: [S3ErrorCode, ErrorKind, RegExp][] = [
      ['ExpiredToken', 'CredentialsExpired', /^The credentials for sts have expired\.$/],
      ['InvalidToken', 'CredentialsExpired', /^The credentials for sts have expired\.$/],
      ['TokenRefreshRequired', 'CredentialsExpired', /^The credentials for sts have expired\.$/],
      ['InvalidAccessKeyId', 'AuthFailed', /^The credentials for sts were refused\.$/],
      ['SignatureDoesNotMatch', 'AuthFailed', /^The credentials for sts were refused\.$/],
      ['AccessDenied', 'PermissionDenied', /^Permission denied for sts:models\.$/],
    ];
    for (const [code, kind, message] of cases)
      it(`${code}: ${kind}, told at once (rclone does not retry it)`, async () => {
        const dir = fresh();
        const stub = await startS3Stub({ code });
        stubs.push(stub);
        const { rclone } = await rcloneAt(dir, 'sts', stub.endpoint);
        const t0 = Date.now();
        const e = await listFolder(rclone, 'sts:models', { timeoutMs: 20_000 }).then(
          () => assert.fail('the listing was expected to fail'),
          (x: unknown) => x,
        );
        assert.ok(isRcloneError(e), String(e));
        assert.equal(e.kind, kind, `${e.message}\n${e.detail}`);
        assert.match(e.message, message);
        assert.equal(e.fix, FIXES[kind]);
        assert.match(e.detail, new RegExp(code), 'rclone’s own line is kept (under -v, in the log)');
        assert.ok(Date.now() - t0 < 10_000, `told within 10 s (${Date.now() - t0} ms)`);
        assert.ok(stub.refused() <= 4, `${stub.refused()} requests: rclone retried`);
      });

    it('the fix of expired credentials: renew them and remount; the CLI says it its own way', () => {
      const e = classify({
        stderr: 'ERROR : : error listing: ExpiredToken: The provided token has expired.',
        target: 's3:m',
      });
      assert.equal(e.kind, 'CredentialsExpired');
      assert.match(e.fix, /^Edit the remote with fresh credentials \(keys and session token\).*then Remount\.$/);
      const shell = cliFix(e);
      assert.notEqual(shell, e.fix);
      assert.doesNotMatch(shell, EDITOR_WORDS);
      assert.match(shell, /session token.*`rclone config`/);
      // AWS's other wording (STS, and services other than S3), and a key that is wrong stays AuthFailed
      const sts = 'ExpiredToken: The security token included in the request is expired\n\tstatus code: 403';
      assert.equal(classify({ stderr: sts, target: 's3:m' }).kind, 'CredentialsExpired');
      const wrong = 'InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.';
      assert.equal(classify({ stderr: wrong, target: 's3:m' }).kind, 'AuthFailed');
    });

    it('rclone-devbox ls: the message and the shell’s fix, exit status 1', async () => {
      const dir = fresh();
      const stub = await startS3Stub({ code: 'ExpiredToken' });
      stubs.push(stub);
      const { conf } = await rcloneAt(dir, 'sts', stub.endpoint);
      const r = await cli(['ls', 'sts:models'], cliEnv(box, dir, { RCLONE_CONFIG: conf }), 30_000);
      assert.equal(r.code, 1, r.stderr);
      const [message, fix] = r.stderr.split('\n');
      assert.equal(message, 'The credentials for sts have expired.');
      assert.equal(fix, cliFix({ kind: 'CredentialsExpired', fix: FIXES.CredentialsExpired }));
    });
  });

  describe('a mount whose credentials expire while it runs', () => {
    /**
     * A mount of remote "sts" through a front of s3rver that forwards until told to refuse, with a
     * registry whose state is the CLI's (XDG_STATE_HOME under `dir`). rclone gives each failed
     * request one try (--low-level-retries 1): the refusals are not retried anyway.
     */
    async function mountThroughFront(dir: string, extra: Partial<MountProfile> = {}) {
      const front = await startS3Stub({ forwardTo: box.s3.port });
      stubs.push(front);
      const { rclone, conf } = await rcloneAt(dir, 'sts', front.endpoint);
      const stateDir = join(dir, 'state', 'rclone-devbox');
      registry = new MountRegistry(rclone, { stateDir });
      const profile: MountProfile = {
        remote: 'sts:models',
        mountPoint: join(dir, 'mnt'),
        cacheDir: join(dir, 'vfs'),
        extraFlags: ['--low-level-retries', '1'],
        ...extra,
      };
      const m = await registry.mount(profile, { timeoutMs: 20_000 });
      return { front, conf, profile, m, reg: registry };
    }

    const look = async (reg: MountRegistry, mp: string): Promise<Mount | undefined> =>
      (await reg.refresh()).find((x) => x.mountPoint === mp);

    /**
     * Reads a file of the mount that it has not read yet: it asks the endpoint (and fails with EIO
     * once refused). Never a synchronous read: the endpoint's front answers from this very process.
     */
    const readThrough = (path: string) => readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => e.code);

    it('is shown "expired" within 5 s of a failed read, by the registry, status and mounts; a Remount with good credentials clears it', async () => {
      const dir = fresh();
      const { front, conf, profile, m, reg } = await mountThroughFront(dir);
      assert.equal(await readThrough(join(m.mountPoint, 'cache_hub', 'gpt.pth')), 'weights');
      assert.equal((await look(reg, m.mountPoint))?.credentials, undefined, 'good credentials: nothing to say');

      // A path the key may not read is not a credentials problem.
      front.fail('AccessDenied');
      assert.equal(await readThrough(join(m.mountPoint, 'voices', 'a.wav')), 'EIO');
      await waitFor(() => readFileSync(m.logFile!, 'utf8').includes('AccessDenied'), 5_000);
      assert.equal((await look(reg, m.mountPoint))?.credentials, undefined, 'AccessDenied is not "expired"');

      front.fail('ExpiredToken');
      const t0 = Date.now();
      assert.equal(await readThrough(join(m.mountPoint, 'more', 'b.bin')), 'EIO');
      await waitFor(async () => (await look(reg, m.mountPoint))?.credentials === 'expired', 5_000);
      const seen = await look(reg, m.mountPoint);
      assert.equal(seen?.state, 'mounted', 'its rclone still runs and answers');
      assert.ok(Date.now() - t0 < 5_000, `${Date.now() - t0} ms`);

      // The CLI, a process of its own that looks at the mount afresh.
      const env = cliEnv(box, dir, { RCLONE_CONFIG: conf });
      const j = await cli(['status', '--json'], env, 20_000, dir);
      assert.equal(j.code, 0, j.stderr);
      const mine = (JSON.parse(j.stdout) as StatusJson).mounts.find((x) => x.mountPoint === m.mountPoint);
      assert.deepEqual(
        { state: mine?.state, credentials: mine?.credentials },
        { state: 'mounted', credentials: 'expired' },
      );
      const t = await cli(['status'], env, 20_000, dir);
      assert.equal(t.code, 0, t.stderr);
      const line = t.stdout.split('\n').find((l) => l.startsWith(`  ${m.mountPoint} `));
      assert.match(line ?? t.stdout, / sts:models +credentials expired +ours, pid \d+ /);
      assert.deepEqual(t.stderr.split('\n'), [
        'The credentials for sts have expired.',
        cliFix({ kind: 'CredentialsExpired', fix: FIXES.CredentialsExpired }),
      ]);
      // `mounts` says it too: at the end of its line (the same English words in every language,
      // for scripts), in --json's `credentials`, and what to do on stderr.
      const listed = await cli(['mounts'], env, 20_000, dir);
      assert.equal(listed.code, 0, listed.stderr);
      const row = listed.stdout.split('\n').find((l) => l.startsWith(`${m.mountPoint}\t`));
      assert.match(row ?? listed.stdout, /\tsts:models\tmounted\tpid \d+\t0 pending\tcredentials expired$/);
      assert.deepEqual(listed.stderr.split('\n'), [
        'The credentials for sts have expired.',
        cliFix({ kind: 'CredentialsExpired', fix: FIXES.CredentialsExpired }),
      ]);
      const mountsJson = async () => {
        const r = await cli(['mounts', '--json'], env, 20_000, dir);
        assert.equal(r.code, 0, r.stderr);
        return (JSON.parse(r.stdout) as { mountPoint: string; credentials: string | null }[]).find(
          (x) => x.mountPoint === m.mountPoint,
        );
      };
      assert.equal((await mountsJson())?.credentials, 'expired');

      // Fresh credentials, then Remount: a new rclone, and the old one's errors (still in the same
      // log file) are not taken for its own.
      front.pass();
      const again = await reg.remount(profile, { timeoutMs: 20_000 });
      assert.notEqual(again.pid, m.pid);
      assert.equal(records(join(dir, 'state', 'rclone-devbox'))[0]!.logFile, m.logFile, 'one log for both runs');
      assert.equal((await look(reg, m.mountPoint))?.credentials, undefined);
      const after = await cli(['status', '--json'], env, 20_000, dir);
      const now = (JSON.parse(after.stdout) as StatusJson).mounts.find((x) => x.mountPoint === m.mountPoint);
      assert.equal(now?.credentials, null);
      assert.equal((await mountsJson())?.credentials, null, '`mounts --json` says null, as `status --json` does');

      // Keys revoked while mounted: "refused".
      front.fail('InvalidAccessKeyId');
      assert.equal(await readThrough(join(m.mountPoint, 'other', 'c.bin')), 'EIO');
      await waitFor(async () => (await look(reg, m.mountPoint))?.credentials === 'refused', 5_000);
      const r = await cli(['status', '--json'], env, 20_000, dir);
      const refused = (JSON.parse(r.stdout) as StatusJson).mounts.find((x) => x.mountPoint === m.mountPoint);
      assert.equal(refused?.credentials, 'refused');
      assert.match(r.stderr, /^The credentials for sts were refused\.\n/);
      const refusedRow = (await cli(['mounts'], env, 20_000, dir)).stdout
        .split('\n')
        .find((l) => l.startsWith(`${m.mountPoint}\t`));
      assert.match(refusedRow ?? '', /\tmounted\tpid \d+\t0 pending\tcredentials refused$/);
      assert.equal((await mountsJson())?.credentials, 'refused');
      await reg.unmount(m.mountPoint, { force: true });
    });

    it('a mount with credentials that have already expired fails at once, CredentialsExpired, and leaves nothing', async () => {
      const dir = fresh();
      const stub = await startS3Stub({ code: 'ExpiredToken' });
      stubs.push(stub);
      const { rclone } = await rcloneAt(dir, 'sts', stub.endpoint);
      registry = new MountRegistry(rclone, { stateDir: join(dir, 'state') });
      const t0 = Date.now();
      await assert.rejects(
        registry.mount({ remote: 'sts:models', mountPoint: join(dir, 'mnt'), cacheDir: join(dir, 'vfs') }),
        (e) => isRcloneError(e, 'CredentialsExpired') && e.message === 'The credentials for sts have expired.',
      );
      assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
      assert.deepEqual(records(join(dir, 'state')), []);
      assert.equal((await registry.refresh()).filter((x) => x.mountPoint.startsWith(dir)).length, 0);
    });

    it('an upload that fails on expired credentials is told by rclone’s core/stats too', async () => {
      const dir = fresh();
      const { front, m } = await mountThroughFront(dir);
      const record = records(join(dir, 'state', 'rclone-devbox'))[0]!;
      front.fail('ExpiredToken');
      await writeFile(join(m.mountPoint, 'new.txt'), 'written while expired');
      // rclone uploads a closed file after --vfs-write-back (5 s); its failure is core/stats' lastError.
      const rc = (await registry!.rc(m.mountPoint))!;
      let lastError: string | undefined;
      await waitFor(async () => !!(lastError = (await rc.coreStats()).lastError), 20_000);
      assert.match(lastError!, /ExpiredToken/);
      // What a watcher that reads no log line makes of it (one that first sees the mount now, its log emptied).
      writeFileSync(record.logFile, '');
      assert.equal(await new CredentialWatch().check(record, lastError), 'expired');
      assert.equal(await new CredentialWatch().check(record, undefined), undefined);
      await registry!.unmount(m.mountPoint, { force: true });
    });

    it('at log level ERROR (no rc line in the log), the runs are told apart by time', async () => {
      const dir = fresh();
      const { front, profile, m, reg } = await mountThroughFront(dir, { logLevel: 'ERROR' });
      front.fail('ExpiredToken');
      assert.equal(await readThrough(join(m.mountPoint, 'more', 'b.bin')), 'EIO');
      await waitFor(async () => (await look(reg, m.mountPoint))?.credentials === 'expired', 5_000);
      assert.doesNotMatch(readFileSync(m.logFile!, 'utf8'), /Serving remote control/);
      front.pass();
      await new Promise((ok) => setTimeout(ok, 1_100)); // the log's time stamps are whole seconds
      const again = await reg.remount(profile, { timeoutMs: 20_000 });
      assert.notEqual(again.pid, m.pid);
      // A registry that never saw the old run (as the CLI is) reads the log back and skips it.
      const other = new MountRegistry(await Rclone.locate({ configFile: join(dir, 'sts.conf') }), {
        stateDir: join(dir, 'state', 'rclone-devbox'),
      });
      try {
        assert.equal((await look(other, m.mountPoint))?.credentials, undefined);
      } finally {
        other.dispose();
      }
      assert.equal((await look(reg, m.mountPoint))?.credentials, undefined);
      await reg.unmount(m.mountPoint, { force: true });
    });
  });
});
