import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { locateConfigFile, parseRemotes, RcloneConfig } from '../../src/core/config';
import { isRcloneError } from '../../src/core/errors';
import { listBuckets } from '../../src/core/listing';
import { Rclone, type RunOptions } from '../../src/core/rclone';
import { type S3Server, startS3, tempDir } from '../helpers/fixtures';

const SECRET = 'S3RVER'; // the test server's key pair is S3RVER/S3RVER

/** Records every argv and stdin rclone is given, so a test can prove a secret never reached argv. */
function recordCalls(rclone: Rclone): { argv: string[][] } {
  const seen = { argv: [] as string[][] };
  const run = rclone.run.bind(rclone);
  rclone.run = (args: readonly string[], opts?: RunOptions) => {
    seen.argv.push([...args]);
    return run(args, opts);
  };
  return seen;
}

const original = `# Team config, shared by the box. Keep the comments.
[local-models]
type = local
; nothing else here

[other]
type = s3
provider = Minio
access_key_id = AKIA_OTHER
secret_access_key = other-secret-value
endpoint = http://127.0.0.1:1
`;

describe('rclone.conf', () => {
  let s3: S3Server;
  let dir: ReturnType<typeof tempDir>;
  let file: string;
  let rclone: Rclone;

  before(async () => {
    s3 = await startS3(['models']);
  });
  after(() => s3.stop());
  afterEach(() => dir.dispose());
  beforeEach(async () => {
    dir = tempDir();
    file = join(dir.path, 'rclone.conf');
    writeFileSync(file, original, { mode: 0o600 });
    rclone = await Rclone.locate({ configFile: file });
  });

  it('is located with `rclone config file`, honouring RCLONE_CONFIG', async () => {
    const viaEnv = await Rclone.locate({ env: { ...process.env, RCLONE_CONFIG: file } });
    assert.equal(await locateConfigFile(viaEnv), file);
  });

  it('lists remotes with type, provider and endpoint, and never their secrets', async () => {
    const config = new RcloneConfig(rclone, file);
    const remotes = await config.remotes();
    assert.deepEqual(remotes, [
      { name: 'local-models', type: 'local', source: 'file' },
      { name: 'other', type: 's3', provider: 'Minio', endpoint: 'http://127.0.0.1:1', source: 'file' },
    ]);
    assert.doesNotMatch(JSON.stringify(remotes), /other-secret-value|AKIA_OTHER/);
  });

  it('lists remotes defined only by RCLONE_CONFIG_* variables, as rclone itself does', async () => {
    const env = {
      ...process.env,
      RCLONE_CONFIG_ENVBOX_TYPE: 's3',
      RCLONE_CONFIG_ENVBOX_PROVIDER: 'Other',
      RCLONE_CONFIG_ENVBOX_ENDPOINT: s3.endpoint,
      RCLONE_CONFIG_OTHER_ENDPOINT: 'http://127.0.0.1:2',
    };
    const withEnv = await Rclone.locate({ configFile: file, env });
    const remotes = await new RcloneConfig(withEnv, file).remotes();
    assert.deepEqual(
      remotes.map((r) => [r.name, r.source, r.endpoint]),
      [
        ['envbox', 'env', s3.endpoint],
        ['local-models', 'file', undefined],
        ['other', 'file+env', 'http://127.0.0.1:2'],
      ],
    );
    const theirs = (await withEnv.run(['listremotes']))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/:$/, ''));
    assert.deepEqual(theirs.sort(), remotes.map((r) => r.name).sort());
  });

  it('creates an S3 remote that works, keeping every other line exactly, mode 0600, secret never on argv', async () => {
    const config = new RcloneConfig(rclone, file);
    const calls = recordCalls(rclone);
    const inodeBefore = statSync(file).ino;
    await config.setRemote('comp share', 's3', {
      provider: 'Other',
      access_key_id: 'S3RVER',
      secret_access_key: SECRET,
      endpoint: s3.endpoint,
      region: 'us-east-1',
    });
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith(original), 'the existing text must be an untouched prefix');
    assert.match(
      text,
      /\n\[comp share\]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\nsecret_access_key = S3RVER\n/,
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.notEqual(statSync(file).ino, inodeBefore, 'replaced by rename, not rewritten in place');
    assert.deepEqual(readdirSync(dir.path), ['rclone.conf'], 'no temporary file left behind');
    assert.ok(calls.argv.length > 0);
    assert.ok(
      calls.argv.every((argv) => !argv.some((a) => a.includes(SECRET))),
      JSON.stringify(calls.argv),
    );
    const buckets = await listBuckets(rclone, 'comp share', { timeoutMs: 20_000 });
    assert.deepEqual(
      buckets.map((b) => b.name),
      ['models'],
    );
  });

  it('updates one key of a remote in place, leaving order, comments and other remotes as they were', async () => {
    const config = new RcloneConfig(rclone, file);
    await config.setRemote('other', 's3', { endpoint: 'https://oss-cn-hangzhou.aliyuncs.com', region: 'cn-hangzhou' });
    assert.equal(
      readFileSync(file, 'utf8'),
      original.replace(
        'endpoint = http://127.0.0.1:1',
        'endpoint = https://oss-cn-hangzhou.aliyuncs.com\nregion = cn-hangzhou',
      ),
    );
  });

  it('obscures password options through stdin, and rclone can use the result', async () => {
    const config = new RcloneConfig(rclone, file);
    const calls = recordCalls(rclone);
    const password = `p ä$(touch /tmp/pwned)'"-`;
    const data = join(dir.path, 'crypt-data');
    await config.setRemote('vault', 'crypt', { remote: data, password });
    const stored = /\[vault\][^[]*password = (\S+)/.exec(readFileSync(file, 'utf8'))?.[1];
    assert.ok(stored && stored !== password, 'password is stored obscured');
    assert.ok(calls.argv.every((argv) => !argv.some((a) => a.includes(password))));
    await rclone.run(['rcat', '--', 'vault:hello.txt'], { input: 'secret text' });
    assert.equal(await rclone.run(['cat', '--', 'vault:hello.txt']), 'secret text');
    assert.ok(!readdirSync(data).includes('hello.txt'), 'names are encrypted on disk, so the password was applied');
  });

  it('removes a remote and nothing else', async () => {
    const config = new RcloneConfig(rclone, file);
    await config.removeRemote('local-models');
    assert.equal(readFileSync(file, 'utf8'), original.replace('[local-models]\ntype = local\n', ''));
  });

  it('rejects bad names, bad values and unknown types without touching the file', async () => {
    const config = new RcloneConfig(rclone, file);
    for (const attempt of [
      () => config.setRemote('-rf', 's3', {}),
      () => config.setRemote('a:b', 's3', {}),
      () => config.setRemote('ok', 'no-such-backend', {}),
      () => config.setRemote('ok', 's3', { endpoint: 'http://x\n[evil]' }),
    ]) {
      await assert.rejects(attempt());
    }
    assert.equal(readFileSync(file, 'utf8'), original);
    await assert.rejects(config.setRemote('ok', 'nope', {}), (e) => isRcloneError(e, 'ConfigInvalid'));
  });

  it('notices when another program changes the file', async () => {
    const config = new RcloneConfig(rclone, file).watch();
    try {
      const changed = new Promise<void>((ok) => config.onDidChange(() => ok()));
      // rclone itself rewrites the file (a different program, the way a teammate's `rclone config` would).
      await rclone.run(['config', 'create', 'added-elsewhere', 'local']);
      await Promise.race([
        changed,
        new Promise((_, no) => setTimeout(() => no(new Error('no change event within 5 s')), 5_000)),
      ]);
      assert.ok((await config.remotes()).some((r) => r.name === 'added-elsewhere'));
    } finally {
      config.dispose();
    }
  });

  it('keeps watching a config whose folder is created by the first remote added', async () => {
    const fresh = join(dir.path, 'not-yet', 'rclone.conf');
    const config = new RcloneConfig(rclone, fresh).watch();
    try {
      await config.setRemote('first', 'local', {});
      assert.equal(statSync(join(dir.path, 'not-yet')).mode & 0o777, 0o700);
      const changed = new Promise<void>((ok) => config.onDidChange(() => ok()));
      writeFileSync(fresh, readFileSync(fresh, 'utf8') + '\n[second]\ntype = local\n');
      await Promise.race([
        changed,
        new Promise((_, no) => setTimeout(() => no(new Error('no change event within 5 s')), 5_000)),
      ]);
      assert.deepEqual(
        (await config.remotes()).map((r) => r.name),
        ['first', 'second'],
      );
    } finally {
      config.dispose();
    }
  });

  it('parses config text alone, as a pure function', () => {
    assert.deepEqual(parseRemotes('[a]\ntype = drive\n\n[b]\ntype = s3\nprovider = TencentCOS\n'), [
      { name: 'a', type: 'drive', source: 'file' },
      { name: 'b', type: 's3', provider: 'TencentCOS', source: 'file' },
    ]);
    assert.deepEqual(parseRemotes(''), []);
  });
});

describe('rclone.conf text added by us is read back by rclone', () => {
  it('keeps values with spaces, unicode and shell metacharacters intact', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'rclone.conf');
      const rclone = await Rclone.locate({ configFile: file });
      const config = new RcloneConfig(rclone, file);
      const path = join(dir.path, 'dir with spaces ü $(x) `y`');
      await config.setRemote('weird', 'alias', { remote: path });
      const shown = await rclone.run(['config', 'show', 'weird']);
      assert.match(shown, new RegExp(`remote = ${path.replace(/[$()`.]/g, (c) => `\\${c}`)}`));
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } finally {
      dir.dispose();
    }
  });
});
