// Mount profiles before rclone starts: secret flags go in the environment (never argv, never the
// log), and profile values rclone would refuse are refused first, each checked against real rclone.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRcloneError, redact } from '../../src/core/errors';
import {
  checkProfile,
  mountCommand,
  type MountProfile,
  type SensitiveFlags,
  sensitiveFlags,
  splitSecretFlags,
} from '../../src/core/profile';
import { Rclone } from '../../src/core/rclone';
import { ACCESS_KEY, type Box, s3Remote, startBox } from '../helpers/fixtures';

const RUN = { rcPort: 5572, logFile: '/l', uid: 1000, gid: 1000 };
/** What rclone says about a flag value: undefined if it parses it, else its complaint. */
async function rcloneRefuses(rclone: Rclone, flag: string, value: string): Promise<string | undefined> {
  // --help: rclone parses every flag and stops before mounting anything.
  const r = await execa(rclone.path, ['--config', '/dev/null', 'mount', flag, value, '--help'], {
    reject: false,
    stdin: 'ignore',
    timeout: 15_000,
  });
  return r.exitCode === 0 ? undefined : String(r.stderr).split('\n')[0];
}

describe('secret flags go in the environment, not on argv', () => {
  let rclone: Rclone;
  let sensitive: SensitiveFlags;
  before(async () => {
    rclone = await Rclone.locate({ configFile: '/dev/null' });
    sensitive = await sensitiveFlags(rclone);
  });

  // Secrets that rclone 1.60 does not mark IsPassword, and global --rc-pass.
  const SECRET_FLAGS = [
    'b2-key',
    'azureblob-key',
    'swift-key',
    's3-sse-customer-key',
    'sftp-key-pem',
    'gcs-service-account-credentials',
    's3-secret-access-key',
    'sftp-pass',
  ];

  for (const flag of SECRET_FLAGS)
    it(`--${flag}, as "--${flag}=V" and as "--${flag} V", goes to RCLONE_${flag.toUpperCase().replace(/-/g, '_')}`, () => {
      assert.ok(sensitive.has(flag), `rclone ${rclone.version.text} lists --${flag} as sensitive`);
      const envName = `RCLONE_${flag.toUpperCase().replace(/-/g, '_')}`;
      for (const extraFlags of [[`--${flag}=v4lue-1`], [`--${flag}`, 'v4lue-1']]) {
        const profile: MountProfile = {
          remote: 's3:m',
          mountPoint: '/m',
          extraFlags: ['--vfs-read-ahead', '64M', ...extraFlags],
        };
        const { args, env } = mountCommand(profile, RUN, sensitive);
        assert.ok(!args.some((a) => a.includes('v4lue-1') || a.includes(`--${flag}`)), 'not on argv');
        assert.deepEqual(env, { [envName]: 'v4lue-1' });
        assert.deepEqual(args.slice(-5), ['--vfs-read-ahead', '64M', '--', 's3:m', '/m'], 'the other flags stay');
      }
    });

  it('leaves flags that are not secrets on argv (paths, booleans, sizes)', () => {
    const flags = ['--sftp-key-file', '/home/me/.ssh/id', '--s3-no-check-bucket', '--buffer-size', '32M'];
    assert.deepEqual(splitSecretFlags(flags, sensitive), { args: flags, env: {} });
  });

  it('refuses a secret flag without a value, and the flags reserved by the extension', () => {
    assert.throws(
      () => mountCommand({ remote: 's3:m', mountPoint: '/m', extraFlags: ['--b2-key'] }, RUN, sensitive),
      (e) => isRcloneError(e, 'ConfigInvalid') && /--b2-key has no value/.test(e.message),
    );
    for (const reserved of ['--rc-pass=x', '--rc-no-auth', '--config', '--daemon'])
      assert.throws(
        () => mountCommand({ remote: 's3:m', mountPoint: '/m', extraFlags: [reserved] }, RUN, sensitive),
        /set by Rclone Dev Box/,
      );
  });

  describe('rclone reads them from the environment', () => {
    let box: Box;
    before(async () => {
      box = await startBox(['models']);
    });
    after(async () => {
      await box.dispose();
    });

    /** rclone with remote "s3" on the test server, with `keys` ("" for none) in its config. */
    function withKeys(keys: string): Promise<Rclone> {
      const text = s3Remote('s3', box.s3.endpoint).replace(/^(access_key_id|secret_access_key) = .*\n/gm, '') + keys;
      const file = join(box.dir, `keys-${keys.length}.conf`);
      writeFileSync(file, text, { mode: 0o600 });
      return Rclone.locate({ configFile: file });
    }
    /** Runs rclone lsjson with `extraFlags` split as for a mount; returns its exit code and all it printed. */
    async function lsjson(
      rclone: Rclone,
      extraFlags: string[],
      logLevel = 'INFO',
    ): Promise<{ exitCode?: number; output: string }> {
      const { args, env } = splitSecretFlags(extraFlags, sensitive);
      assert.deepEqual(args, [], 'every flag went to the environment');
      const argv = ['--config', rclone.configFile!, '--log-level', logLevel, 'lsjson', '--', 's3:models'];
      const r = await execa(rclone.path, argv, {
        env: { ...rclone.env, ...env },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        timeout: 30_000,
        all: true,
      });
      return { exitCode: r.exitCode, output: String(r.all) };
    }

    // s3rver checks the access key id (its V2 signature check refuses even the right secret, so
    // the secret itself cannot be told right from wrong here); the key id is a sensitive option too.
    it('rclone uses --s3-access-key-id / --s3-secret-access-key from the environment, and does not log them at INFO', async () => {
      const rclone = await withKeys('');
      const right = await lsjson(rclone, [
        `--s3-access-key-id=${ACCESS_KEY}`,
        '--s3-secret-access-key',
        'env-secret-9876',
      ]);
      assert.equal(right.exitCode, 0, right.output);
      const wrong = await lsjson(rclone, [
        '--s3-access-key-id',
        'NOT-A-KEY-5432',
        '--s3-secret-access-key=env-secret-9876',
      ]);
      assert.notEqual(wrong.exitCode, 0);
      assert.match(wrong.output, /InvalidAccessKeyId/);
      assert.ok(!wrong.output.includes('env-secret-9876'), wrong.output);
    });

    it("the environment overrides the remote's config, as the flag did", async () => {
      const rclone = await withKeys('access_key_id = NOT-A-KEY-5432\nsecret_access_key = x\n');
      assert.match((await lsjson(rclone, [])).output, /InvalidAccessKeyId/);
      const r = await lsjson(rclone, [`--s3-access-key-id=${ACCESS_KEY}`]);
      assert.equal(r.exitCode, 0, r.output);
    });

    it('at DEBUG rclone logs them, so a profile with secret flags may not log at DEBUG; redact() hides them', async () => {
      const r = await lsjson(
        await withKeys(''),
        ['--s3-access-key-id', ACCESS_KEY, '--s3-secret-access-key=env-secret-9876'],
        'DEBUG',
      );
      assert.ok(r.output.includes('env-secret-9876'), 'rclone 1.60 prints options set from the environment');
      assert.ok(!redact(r.output).includes('env-secret-9876'), redact(r.output));
      const profile: MountProfile = { remote: 's3:m', mountPoint: '/m', logLevel: 'DEBUG', extraFlags: ['--b2-key=x'] };
      assert.throws(
        () => mountCommand(profile, RUN, sensitive),
        /DEBUG log would show the secret flags .*RCLONE_B2_KEY/,
      );
      mountCommand({ ...profile, extraFlags: [] }, RUN, sensitive);
    });
  });
});

describe('profile values are checked before rclone starts', () => {
  let rclone: Rclone;
  before(async () => {
    rclone = await Rclone.locate({ configFile: '/dev/null' });
  });
  const base: MountProfile = { remote: 's3:models', mountPoint: '/mnt/models' };
  const refusal = (p: Partial<MountProfile>) => {
    try {
      checkProfile({ ...base, ...p });
      return undefined;
    } catch (e) {
      assert.ok(isRcloneError(e, 'ConfigInvalid'), String(e));
      return e;
    }
  };

  // [cacheMaxSize, accepted by rclone 1.60, accepted here]
  const SIZES: Array<[string, boolean, boolean]> = [
    ['20G', true, true],
    ['500M', true, true],
    ['1.5G', true, true],
    ['.5T', true, true],
    ['512Mi', true, true],
    ['1GiB', true, true],
    ['4096b', true, true],
    ['1k', true, true],
    ['off', true, true],
    ['OFF', true, true],
    ['abc', false, false],
    ['20GB', false, false],
    ['1KIB', false, false],
    ['-1G', false, false],
    ['5x', false, false],
    [' 1G', false, false],
    ['', false, false],
    // rclone reads a bare number as KiB: "20" would be a 20 KiB cache
    ['20', true, false],
  ];
  for (const [size, byRclone, byUs] of SIZES)
    it(`cacheMaxSize ${JSON.stringify(size)}: ${byUs ? 'accepted' : 'refused'}${byRclone === byUs ? ', as by rclone' : ' (rclone reads it as KiB)'}`, async () => {
      const complaint = size === '' ? 'empty' : await rcloneRefuses(rclone, '--vfs-cache-max-size', size);
      assert.equal(complaint === undefined, byRclone, `rclone: ${complaint ?? 'accepted'}`);
      const e = refusal({ cacheMaxSize: size });
      assert.equal(e === undefined, byUs, e?.message);
      if (e) {
        assert.ok(e.message.includes(`cacheMaxSize "${size}"`), e.message);
        assert.match(e.fix, /"20G"/);
      }
    });

  for (const [mode, ok] of [
    ['off', true],
    ['minimal', true],
    ['writes', true],
    ['full', true],
    ['Full', false],
    ['write', false],
  ] as const)
    it(`cacheMode "${mode}": ${ok ? 'accepted' : 'refused'}, as by rclone`, async () => {
      assert.equal((await rcloneRefuses(rclone, '--vfs-cache-mode', mode)) === undefined, ok);
      const e = refusal({ cacheMode: mode as MountProfile['cacheMode'] });
      assert.equal(e === undefined, ok);
      if (e) assert.ok(e.message.includes(`cacheMode "${mode}"`) && /"writes"/.test(e.fix), e.message);
    });

  // [dirCacheTime, accepted by rclone 1.60, accepted here]
  for (const [text, byRclone, ok] of [
    ['1000h', true, true],
    ['30m', true, true],
    ['1h30m', true, true],
    ['2.5h', true, true],
    ['7d', false, false],
    ['1000', false, false],
    ['1 h', false, false],
    // rclone takes a negative duration (listings expire at once): never what a profile means
    ['-5m', true, false],
  ] as const)
    it(`dirCacheTime "${text}": ${ok ? 'accepted' : 'refused'}${byRclone === ok ? ', as by rclone' : ' (rclone takes it)'}`, async () => {
      assert.equal((await rcloneRefuses(rclone, '--dir-cache-time', text)) === undefined, byRclone);
      const e = refusal({ dirCacheTime: text });
      assert.equal(e === undefined, ok, e?.message);
      if (e) assert.ok(e.message.includes(`dirCacheTime "${text}"`) && /"1000h"/.test(e.fix), e.message);
    });

  it('mounts keep listings for dirCacheTime (1000h unless the profile says), so a prewarm lasts', () => {
    const at = (p: MountProfile) => {
      const { args } = mountCommand(p, RUN, new Set());
      return args[args.indexOf('--dir-cache-time') + 1];
    };
    assert.equal(at(base), '1000h');
    assert.equal(at({ ...base, dirCacheTime: '30m' }), '30m');
    assert.match(refusal({ extraFlags: ['--dir-cache-time=5m'] })?.message ?? '', /set by Rclone Dev Box itself/);
  });

  it('refuses warm paths that are not below the mount point', () => {
    assert.match(refusal({ warm: ['/etc'] })?.message ?? 'accepted', /warm entry "\/etc"/);
    assert.match(refusal({ warm: ['cache_hub/../..'] })?.message ?? 'accepted', /warm entry/);
    assert.equal(refusal({ warm: ['cache_hub', 'cache_hub_v23/models'] }), undefined);
  });

  it('refuses relative paths, unknown log levels and negative ids, naming the field and the value', () => {
    const cases: Array<[Partial<MountProfile>, RegExp]> = [
      [{ mountPoint: 'mnt/models' }, /mount point "mnt\/models" is not an absolute path/],
      [{ cacheDir: 'cache' }, /cacheDir "cache" is not an absolute path/],
      [{ logLevel: 'info' as MountProfile['logLevel'] }, /logLevel "info" is not one of DEBUG, INFO, NOTICE, ERROR/],
      [{ uid: -1 }, /uid "-1"/],
      [{ gid: 1.5 }, /gid "1.5"/],
    ];
    for (const [p, message] of cases) assert.match(refusal(p)?.message ?? 'accepted', message);
    assert.equal(
      refusal({ cacheDir: '/data/cache', logLevel: 'DEBUG', uid: 0, gid: 1000, cacheMode: 'full' }),
      undefined,
    );
  });
});
