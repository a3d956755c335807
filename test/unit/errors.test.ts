// Every error kind, provoked for real: real rclone against a real S3 server, real FUSE mounts,
// real files. Each test checks the kind and that the message says what to do.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { classify, type ErrorKind, isRcloneError, redact, RcloneError } from '../../src/core/errors';
import { listFolder } from '../../src/core/listing';
import { checkAllowOther, checkMountPoint, findFusermount } from '../../src/core/preflight';
import { atLeast, Rclone } from '../../src/core/rclone';
import { type Box, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { startS3Stub } from '../helpers/s3stub';

const NOBODY = 65534;

function isKind(kind: ErrorKind) {
  return (e: unknown) => {
    assert.ok(isRcloneError(e), `expected an RcloneError, got ${String(e)}`);
    assert.equal(e.kind, kind, `${e.message}\n${e.detail}`);
    assert.ok(e.fix.length > 10, 'a fix is suggested');
    return true;
  };
}

const mounted = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);

/** Runs `rclone mount` (foreground) and returns how it failed; never leaves the mount behind. */
async function mountFailure(
  rclone: Rclone,
  args: string[],
  mountPoint: string,
  env?: Record<string, string>,
): Promise<unknown> {
  try {
    await rclone.run(['mount', ...args], { timeoutMs: 15_000, env, target: mountPoint });
    return new Error('rclone mount exited without an error');
  } catch (e) {
    return e;
  } finally {
    if (mounted(mountPoint)) await execa('fusermount3', ['-uz', mountPoint], { reject: false });
  }
}

type Run = (argv: string[], env?: NodeJS.ProcessEnv) => Promise<{ exitCode?: number; stderr: unknown }>;

/**
 * A way to run commands as user nobody with /dev/fuse usable by other users, as on a normal host,
 * without changing the machine (containers often make /dev/fuse root-only; a chmod would open FUSE
 * to every user of the box). When nobody cannot open /dev/fuse, commands run in a private mount
 * namespace where a new 0666 node of FUSE's fixed device (10:229), on a tmpfs mounted on `scratch`
 * that only that namespace sees, is bound over /dev/fuse; whatever gets mounted in there goes with
 * the namespace. Each way is tried (changing nothing) first; a string says why neither works.
 */
async function nobodyWithFuse(scratch: string): Promise<Run | string> {
  const opts = { timeout: 20_000, stdin: 'ignore', reject: false, extendEnv: false } as const;
  const canOpen = ['sh', '-c', 'test -r /dev/fuse && test -w /dev/fuse'];
  const direct: Run = ([cmd, ...args], env = process.env) =>
    execa(cmd!, args, { ...opts, env, uid: NOBODY, gid: NOBODY });
  if ((await direct(canOpen)).exitCode === 0) return direct;
  mkdirSync(scratch, { recursive: true });
  const setUp =
    'mount -t tmpfs -o size=16k,mode=0700 tmpfs "$1" && mknod -m 0666 "$1/fuse" c 10 229 && ' +
    'mount --bind "$1/fuse" /dev/fuse && shift && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"';
  const inNamespace: Run = (argv, env = process.env) =>
    execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', setUp, 'sh', scratch, ...argv], {
      ...opts,
      env,
    });
  const check = await inNamespace(canOpen);
  if (check.exitCode === 0) return inNamespace;
  return (
    '/dev/fuse is not usable by other users here and a private mount namespace giving user nobody its own ' +
    `could not be made (${String(check.stderr).trim() || `exit ${check.exitCode}`}); /dev/fuse is left as it is`
  );
}

/** Runs rclone as user nobody (a real non-root user) and classifies what it printed. */
async function asNobody(rclone: Rclone, args: string[], target: string): Promise<RcloneError> {
  const r = await execa(rclone.path, args, {
    uid: NOBODY,
    gid: NOBODY,
    env: { ...rclone.env, HOME: '/tmp' },
    extendEnv: false,
    reject: false,
    timeout: 20_000,
    stdin: 'ignore',
  });
  assert.notEqual(r.exitCode, 0, 'the command was expected to fail');
  return classify({ exitCode: r.exitCode, stderr: String(r.stderr), target });
}

describe('errors say what happened and what to do', () => {
  let box: Box;
  let blackhole: { port: number; close(): void };
  before(async () => {
    box = await startBox(['models']);
    const sockets = new Set<Socket>();
    const server = createServer((s) => sockets.add(s)); // accepts, never answers
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    blackhole = {
      port: (server.address() as { port: number }).port,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    };
  });
  after(async () => {
    blackhole.close();
    await box.dispose();
  });

  /** An rclone whose config has remote `name` = the test server with some settings changed. */
  async function remoteWith(name: string, changes: Record<string, string>): Promise<Rclone> {
    let text = s3Remote(name, box.s3.endpoint);
    for (const [k, v] of Object.entries(changes))
      text =
        text.replace(new RegExp(`^${k} = .*$`, 'm'), `${k} = ${v}`) + (text.includes(`${k} =`) ? '' : `${k} = ${v}\n`);
    const file = join(box.dir, `${name}.conf`);
    writeFileSync(file, text, { mode: 0o600 });
    return Rclone.locate({ configFile: file });
  }

  it('AuthFailed: an unknown access key', async () => {
    const rclone = await remoteWith('bad', { access_key_id: 'NOT-A-KEY' });
    await assert.rejects(listFolder(rclone, 'bad:models'), isKind('AuthFailed'));
  });

  // s3rver ignores session tokens and never expires one: the endpoint here is a stub answering as AWS does.
  it('CredentialsExpired: an STS session token that ran out', async () => {
    const stub = await startS3Stub({ code: 'ExpiredToken' });
    try {
      const rclone = await remoteWith('sts', { endpoint: stub.endpoint, session_token: 'FQoGZXIvYXdzEXAMPLE' });
      await assert.rejects(
        listFolder(rclone, 'sts:models'),
        (e) =>
          isKind('CredentialsExpired')(e) && (e as RcloneError).message === 'The credentials for sts have expired.',
      );
    } finally {
      await stub.stop();
    }
  });

  it("CredentialsExpired or not: AWS's wordings, classified", () => {
    const table: [string, ErrorKind][] = [
      [
        'ERROR : : error listing: ExpiredToken: The provided token has expired.\n\tstatus code: 400',
        'CredentialsExpired',
      ],
      ['ExpiredToken: The security token included in the request is expired\n\tstatus code: 403', 'CredentialsExpired'],
      [
        'operation error S3: ListObjectsV2, https response error StatusCode: 400, api error ExpiredToken',
        'CredentialsExpired',
      ],
      ['InvalidToken: The provided token is malformed or otherwise invalid.', 'CredentialsExpired'],
      ['TokenRefreshRequired: The provided token must be refreshed.', 'CredentialsExpired'],
      ['InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.', 'AuthFailed'],
      ['SignatureDoesNotMatch: The request signature we calculated does not match', 'AuthFailed'],
      ['InvalidClientTokenId: The security token included in the request is invalid.', 'AuthFailed'],
      ['AccessDenied: Access Denied\n\tstatus code: 403', 'PermissionDenied'],
    ];
    for (const [stderr, kind] of table) {
      const e = classify({ stderr, target: 's3:models' });
      assert.equal(e.kind, kind, stderr);
      assert.match(e.detail, /Token|Key|Signature|Access/, 'the code survives redaction');
    }
  });

  // s3rver does not verify V4 signatures; with V2 signing it does, so a wrong secret is refused for real.
  it('AuthFailed: a wrong secret key, and the secret is not repeated in the error', async () => {
    const rclone = await remoteWith('bad', { secret_access_key: 'wrong-secret-1234', v2_auth: 'true' });
    await assert.rejects(
      listFolder(rclone, 'bad:models'),
      (e) =>
        isKind('AuthFailed')(e) &&
        !JSON.stringify([(e as RcloneError).message, (e as RcloneError).detail]).includes('wrong-secret-1234'),
    );
  });

  it('AuthFailed on a remote\'s root names the remote without a stray colon ("for bad", not "for bad:")', async () => {
    const rclone = await remoteWith('bad', { access_key_id: 'NOT-A-KEY' });
    await assert.rejects(
      listFolder(rclone, 'bad:'),
      (e) => isKind('AuthFailed')(e) && (e as RcloneError).message === 'The credentials for bad were refused.',
    );
  });

  it('BucketNotFound', async () => {
    await assert.rejects(
      listFolder(box.rclone, 's3:no-such-bucket/some/dir'),
      (e) => isKind('BucketNotFound')(e) && (e as RcloneError).message === 'There is no bucket "no-such-bucket" on s3.',
    );
  });

  it('RemoteNotFound', async () => {
    await assert.rejects(listFolder(box.rclone, 'nosuchremote:bucket'), isKind('RemoteNotFound'));
  });

  it('NotFound: a directory that does not exist', async () => {
    const dir = tempDir();
    try {
      await assert.rejects(listFolder(box.rclone, join(dir.path, 'missing', 'dir')), isKind('NotFound'));
    } finally {
      dir.dispose();
    }
  });

  it('PermissionDenied: a folder the user may not read', async () => {
    const dir = tempDir();
    try {
      const secret = join(dir.path, 'secret');
      mkdirSync(secret, { mode: 0o700 });
      chmodSync(dir.path, 0o755);
      const err = await asNobody(box.rclone, ['--config', '/dev/null', 'lsjson', '--', secret], secret);
      isKind('PermissionDenied')(err);
    } finally {
      dir.dispose();
    }
  });

  it('Unreachable: nothing listens at the endpoint', async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as { port: number }).port;
    await new Promise((ok) => closed.close(ok));
    const rclone = await remoteWith('dead', { endpoint: `http://127.0.0.1:${port}` });
    await assert.rejects(listFolder(rclone, 'dead:models', { timeoutMs: 20_000 }), isKind('Unreachable'));
  });

  it("Timeout: the endpoint accepts connections but never answers (rclone's bound, then ours)", async () => {
    const rclone = await remoteWith('hole', { endpoint: `http://127.0.0.1:${blackhole.port}` });
    await assert.rejects(
      rclone.run(['--timeout', '1s', 'lsjson', '--', 'hole:models'], { timeoutMs: 30_000, target: 'hole:models' }),
      isKind('Timeout'),
    );
    await assert.rejects(listFolder(rclone, 'hole:models', { timeoutMs: 1_500 }), isKind('Timeout'));
  });

  it('TlsError: https spoken to a plain http endpoint', async () => {
    const rclone = await remoteWith('tls', { endpoint: box.s3.endpoint.replace('http:', 'https:') });
    await assert.rejects(listFolder(rclone, 'tls:models', { timeoutMs: 20_000 }), isKind('TlsError'));
  });

  it('CaBundle: AWS_CA_BUNDLE handed to rclone 1.60 unfiltered', async (t) => {
    if (atLeast(box.rclone.version, { major: 1, minor: 69, patch: 0 }))
      return t.skip(`rclone ${box.rclone.version.text} honours AWS_CA_BUNDLE`);
    await assert.rejects(
      box.rclone.run(['lsjson', '--', 's3:models'], {
        env: { AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt' },
        target: 's3:models',
      }),
      isKind('CaBundle'),
    );
  });

  it('ConfigInvalid: a remote of a type rclone does not know', async () => {
    const file = join(box.dir, 'unknown.conf');
    writeFileSync(file, '[w]\ntype = nosuchtype\n');
    const rclone = await Rclone.locate({ configFile: file });
    await assert.rejects(listFolder(rclone, 'w:'), isKind('ConfigInvalid'));
  });

  describe('mounting', () => {
    it('FuseMissing: rclone mount without a FUSE helper on PATH, and the same caught beforehand', async () => {
      const dir = tempDir();
      try {
        const mp = join(dir.path, 'mnt');
        mkdirSync(mp);
        const err = await mountFailure(box.rclone, ['--', 's3:models', mp], mp, { PATH: join(dir.path, 'no-bin') });
        isKind('FuseMissing')(err);
        await assert.rejects(findFusermount({ PATH: join(dir.path, 'no-bin') }), isKind('FuseMissing'));
        await assert.rejects(findFusermount(process.env, join(dir.path, 'no-dev-fuse')), isKind('FuseMissing'));
        assert.match(await findFusermount(process.env), /fusermount3?$/);
      } finally {
        dir.dispose();
      }
    });

    it('AllowOtherNotPermitted: --allow-other by a non-root user without user_allow_other', async (t) => {
      if (/^\s*user_allow_other\s*$/m.test(readFileSync('/etc/fuse.conf', 'utf8')))
        return t.skip('/etc/fuse.conf allows allow_other here');
      if (process.getuid?.() !== 0) return t.skip('needs root to run rclone as another user');
      const dir = tempDir();
      try {
        const mp = join(dir.path, 'mnt');
        mkdirSync(mp);
        chmodSync(dir.path, 0o755);
        const conf = join(dir.path, 'nobody.conf');
        writeFileSync(conf, s3Remote('s3', box.s3.endpoint), { mode: 0o644 });
        await execa('chown', [`${NOBODY}:${NOBODY}`, mp, conf]);
        const asNobodyWithFuse = await nobodyWithFuse(join(dir.path, 'dev'));
        if (typeof asNobodyWithFuse === 'string') return t.skip(asNobodyWithFuse);
        const flags = ['--config', conf, '--cache-dir', join(dir.path, 'cache')];
        const r = await asNobodyWithFuse([box.rclone.path, ...flags, 'mount', '--allow-other', '--', 's3:models', mp], {
          ...box.rclone.env,
          HOME: dir.path,
        });
        assert.notEqual(r.exitCode, 0, 'rclone mount --allow-other was expected to fail');
        isKind('AllowOtherNotPermitted')(classify({ exitCode: r.exitCode, stderr: String(r.stderr), target: mp }));
        await assert.rejects(checkAllowOther(NOBODY, '/etc/fuse.conf'), isKind('AllowOtherNotPermitted'));
        await checkAllowOther(0, '/etc/fuse.conf'); // root may always
      } finally {
        if (mounted(join(dir.path, 'mnt')))
          await execa('fusermount3', ['-uz', join(dir.path, 'mnt')], { reject: false });
        dir.dispose();
      }
    });

    it('MountPointNotEmpty: refused before mounting, files left untouched', async () => {
      const dir = tempDir();
      try {
        const mp = join(dir.path, 'cache_hub');
        mkdirSync(mp);
        writeFileSync(join(mp, 'local-model.bin'), 'keep me');
        await assert.rejects(checkMountPoint(mp), isKind('MountPointNotEmpty'));
        assert.equal(readFileSync(join(mp, 'local-model.bin'), 'utf8'), 'keep me');
        await checkMountPoint(mp, true); // explicitly allowed
        await checkMountPoint(join(dir.path, 'does-not-exist-yet'));
        // newer rclone refuses by itself; its message is classified the same way
        isKind('MountPointNotEmpty')(
          classify({
            stderr: `Fatal error: Directory is not empty: ${mp} If you want to mount it anyway use: --allow-non-empty option`,
            target: mp,
          }),
        );
      } finally {
        dir.dispose();
      }
    });
  });

  it("Unknown: anything else keeps rclone's own last error line", () => {
    const e = classify({ exitCode: 7, stderr: '2026/11/24 ERROR : something odd happened\n', target: 's3:x' });
    assert.equal(e.kind, 'Unknown');
    assert.match(e.message, /exit code 7.*something odd happened/);
  });
});

describe('secrets in error text', () => {
  it('are redacted from key = value pairs, URLs and known values', () => {
    const text =
      'secret_access_key = abc123XYZ\nRCLONE_RC_PASS=hunter2hunter\nhttps://user:pa55word@host/x\ntoken: "tok-42-xyz"';
    const out = redact(text, ['my-own-secret']);
    for (const s of ['abc123XYZ', 'hunter2hunter', 'pa55word', 'tok-42-xyz'])
      assert.ok(!out.includes(s), `${s} leaked: ${out}`);
    assert.equal(redact('uses my-own-secret here', ['my-own-secret']), 'uses *** here');
  });

  // [text, what redact must make of it]
  const table: Array<[string, string]> = [
    // real secrets: rclone config lines, JSON (rclone config dump, rc answers), env, flags, URLs
    ['secret_access_key = X9sEcReT', 'secret_access_key = ***'],
    ['access_key_id = AKIAEXAMPLE', 'access_key_id = ***'],
    ['"pass": "X9sEcReT"', '"pass": "***"'],
    ['{"secret_access_key":"X9sEcReT","region":"us-east-1"}', '{"secret_access_key":"***","region":"us-east-1"}'],
    ['RCLONE_RC_PASS=X9sEcReT', 'RCLONE_RC_PASS=***'],
    ['RCLONE_B2_KEY=X9sEcReT', 'RCLONE_B2_KEY=***'],
    ['sse_customer_key = X9sEcReT', 'sse_customer_key = ***'],
    ['key_file_pass = X9sEcReT', 'key_file_pass = ***'],
    ['password2 = X9sEcReT', 'password2 = ***'],
    ['--b2-key=X9sEcReT', '--b2-key=***'],
    // rclone -vv on a flag from the environment
    [
      'DEBUG : Setting default for s3-access-key-id="X9sEcReT" from environment variable RCLONE_S3_ACCESS_KEY_ID',
      'DEBUG : Setting default for s3-access-key-id="***" from environment variable RCLONE_S3_ACCESS_KEY_ID',
    ],
    [
      'DEBUG : Setting --rc-pass "X9sEcReT" from environment variable RCLONE_RC_PASS="X9sEcReT"',
      'DEBUG : Setting --rc-pass "***" from environment variable RCLONE_RC_PASS="***"',
    ],
    ['rclone mount --b2-key X9sEcReT x: /mnt', 'rclone mount --b2-key *** x: /mnt'],
    ['https://user:X9sEcReT@host/x', 'https://user:***@host/x'],
    // innocent text: words that merely contain pass, key or token, and paths
    ['compass:models/x', 'compass:models/x'],
    ['mounted compass:models/x on /mnt/compass', 'mounted compass:models/x on /mnt/compass'],
    ['bypass=1', 'bypass=1'],
    ['passport: ok', 'passport: ok'],
    ['keyboard: 3', 'keyboard: 3'],
    ['monkey: 3', 'monkey: 3'],
    ['key_file = /home/me/.ssh/id_ed25519', 'key_file = /home/me/.ssh/id_ed25519'],
    ['token_url = https://example.com/token', 'token_url = https://example.com/token'],
    ['--password-command needs a value', '--password-command needs a value'],
  ];
  for (const [text, expected] of table)
    it(`redact(${JSON.stringify(text)})`, () => assert.equal(redact(text), expected));
});
