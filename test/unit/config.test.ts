import type * as Esbuild from 'esbuild';
import { execa } from 'execa';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { checkRemoteName, locateConfigFile, parseRemotes, RcloneConfig } from '../../src/core/config';
import { isRcloneError } from '../../src/core/errors';
import { listBuckets } from '../../src/core/listing';
import { Rclone, type RunOptions } from '../../src/core/rclone';
import { ROOT, type S3Server, startS3, tempDir } from '../helpers/fixtures';

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
      {
        name: 'other',
        type: 's3',
        provider: 'Minio',
        endpoint: 'http://127.0.0.1:1',
        credentials: 'keys', // how it authenticates, never with what
        source: 'file',
      },
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
    assert.deepEqual(readdirSync(dir.path), ['.rclone-devbox-locks', 'rclone.conf'], 'no temporary file left behind');
    // What stays is the release's tombstone (see lock.ts), swept after a while; never a lock.
    const locks = readdirSync(join(dir.path, '.rclone-devbox-locks'));
    assert.deepEqual(
      locks.filter((n) => !n.endsWith('.broken')),
      [],
      'the edit lock is released',
    );
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

/** rclone's own view of a config: `rclone listremotes --long` as [name, type] pairs. */
async function rcloneRemotes(rclone: Rclone): Promise<string[][]> {
  return (await rclone.run(['listremotes', '--long']))
    .split('\n')
    .filter(Boolean)
    .map((l) => /^(.+?):\s+(\S*)\s*$/.exec(l)!.slice(1, 3))
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
}

describe('rclone.conf is read and edited as rclone reads it', () => {
  let dir: ReturnType<typeof tempDir>;
  afterEach(() => dir.dispose());
  beforeEach(() => {
    dir = tempDir();
  });

  // Dotted names (the `ini` package made `[s3.prod]` a nested object), repeated sections, CRLF/LF.
  const tricky = [
    '[s3]\r\ntype = alias\r\nremote = /one\r\n',
    '[s3.prod]\nremote = /two\n',
    '[a]\ntype = local\nremote = /first\n',
    '[b]\r\ntype = alias\nremote = /b\r\n',
    '[a]\ntype = alias\r\nremote = /second\n',
  ].join('\n');

  it('lists dotted names, repeated sections and mixed line endings as rclone 1.60 does', async () => {
    const file = join(dir.path, 'rclone.conf');
    writeFileSync(file, tricky, { mode: 0o600 });
    const rclone = await Rclone.locate({ configFile: file });
    const ours = (await new RcloneConfig(rclone, file).remotes()).map((r) => [r.name, r.type]);
    assert.deepEqual(ours, [
      ['a', 'alias'],
      ['b', 'alias'],
      ['s3', 'alias'],
      ['s3.prod', 'alias'],
    ]);
    assert.deepEqual(ours, await rcloneRemotes(rclone));
  });

  it('removes and edits what rclone uses: every section of a repeated remote, the line of a key that counts', async () => {
    const file = join(dir.path, 'rclone.conf');
    writeFileSync(file, tricky, { mode: 0o600 });
    const rclone = await Rclone.locate({ configFile: file });
    const config = new RcloneConfig(rclone, file);
    await config.setRemote('a', 'alias', { remote: '/third' });
    assert.match(await rclone.run(['config', 'show', 'a']), /^remote = \/third$/m);
    await config.setRemote('s3.prod', 'alias', { remote: '/prod' });
    assert.match(await rclone.run(['config', 'show', 's3.prod']), /^remote = \/prod$/m);
    assert.match(await rclone.run(['config', 'show', 's3']), /^remote = \/one$/m, 'the parent is untouched');
    await config.removeRemote('a');
    assert.deepEqual(await rcloneRemotes(rclone), [
      ['b', 'alias'],
      ['s3', 'alias'],
      ['s3.prod', 'alias'],
    ]);
    assert.match(
      readFileSync(file, 'utf8'),
      /^\[b\]\r\ntype = alias\nremote = \/b\r\n/m,
      'other lines keep their endings',
    );
  });

  // Every rclone from 1.60 on must accept a name we accept. `rclone160` is what 1.60 itself does
  // (create, then use): it creates ` a` and `a ` but cannot use them; it has no `+`, `@` or Unicode.
  const names: [name: string, ours: boolean, rclone160: boolean][] = [
    ['s3', true, true],
    ['comp share', true, true],
    ['s3.prod', true, true],
    ['_a-b.c', true, true],
    ['.', true, true],
    ['a--', true, true],
    ['x+y@z', false, false],
    ['é', false, false],
    ['a:b', false, false],
    [' a', false, false],
    ['a ', false, false],
    ['-rf', false, false],
    ['', false, false],
    ['a/b', false, false],
    ['ab-', false, true], // 1.60 takes it; 1.61+ rejects a name ending in one "-" after a letter
  ];
  it('accepts remote names every rclone from 1.60 on accepts, confirmed with real rclone', async () => {
    const file = join(dir.path, 'names.conf');
    const rclone = await Rclone.locate({ configFile: file });
    const is160 = rclone.version.major === 1 && rclone.version.minor === 60;
    for (const [name, ours, rclone160] of names) {
      let accepted = true;
      try {
        checkRemoteName(name);
      } catch (e) {
        assert.ok(isRcloneError(e, 'ConfigInvalid'), String(e));
        accepted = false;
      }
      assert.equal(accepted, ours, `checkRemoteName(${JSON.stringify(name)})`);
      if (name === '' || name.startsWith('-')) continue; // not a name to rclone's command line at all
      const works = await rclone
        .run(['config', 'create', name, 'alias', `remote=${dir.path}`])
        .then(() => rclone.run(['lsf', `${name}:`]))
        .then(
          () => true,
          () => false,
        );
      if (ours) assert.ok(works, `rclone ${rclone.version.text} must accept ${JSON.stringify(name)}`);
      if (is160) assert.equal(works, rclone160, `rclone 1.60 and ${JSON.stringify(name)}`);
    }
    // A remote a newer rclone made (`+` and `@` from 1.62) is already there: it can still be edited.
    writeFileSync(file, '[x+y@z]\ntype = local\n');
    await new RcloneConfig(rclone, file).setRemote('x+y@z', 'alias', { remote: dir.path });
    assert.equal(readFileSync(file, 'utf8'), `[x+y@z]\ntype = alias\nremote = ${dir.path}\n`);
  });
});

/** Bundles `code` (TypeScript that imports src/ by absolute path) into `<dir>/child.js`, for separate processes. */
function bundleChild(dir: string, code: string): string {
  // Loaded at run time from the repository: esbuild cannot be bundled into this test itself.
  const esbuild = createRequire(join(ROOT, 'package.json'))('esbuild') as typeof Esbuild;
  const outfile = join(dir, 'child.js');
  esbuild.buildSync({
    stdin: { contents: code, resolveDir: ROOT, loader: 'ts', sourcefile: 'child.ts' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o644);
  return outfile;
}

/**
 * A separate process editing a config: `child.js <file> <startAt> add <name>…` adds alias remotes
 * one after another, starting at the wall-clock time `startAt`; `remove <name>` removes one. It
 * prints `ok` or the error's kind, message and fix as JSON.
 */
const CHILD = `
import { RcloneConfig } from ${JSON.stringify(join(ROOT, 'src/core/config'))};
import { Rclone } from ${JSON.stringify(join(ROOT, 'src/core/rclone'))};
const [file, startAt, op, ...names] = process.argv.slice(2);
(async () => {
  const config = new RcloneConfig(await Rclone.locate({ configFile: file }), file);
  await new Promise((ok) => setTimeout(ok, Number(startAt) - Date.now()));
  for (const name of names) {
    if (op === 'add') await config.setRemote(name, 'alias', { remote: '/tmp/' + name });
    else await config.removeRemote(name);
  }
})().then(
  () => console.log(JSON.stringify('ok')),
  (e) => console.log(JSON.stringify({ kind: e.kind, message: e.message, fix: e.fix })),
);
`;

describe('rclone.conf edited by several processes, and its file kept as it was', () => {
  let dir: ReturnType<typeof tempDir>;
  afterEach(() => dir.dispose());
  beforeEach(() => {
    dir = tempDir();
  });

  it('loses no remote when 10 processes add remotes at the same moment', async () => {
    const child = bundleChild(dir.path, CHILD);
    const file = join(dir.path, 'rclone.conf');
    writeFileSync(file, original, { mode: 0o600 });
    const startAt = String(Date.now() + 3_000); // after every child has started rclone once
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        execa(process.execPath, [child, file, startAt, 'add', `p${i}-a`, `p${i}-b`, `p${i}-c`], {
          timeout: 60_000,
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => JSON.parse(r.stdout) as unknown),
      results.map(() => 'ok'),
    );
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith(original), 'what was there is kept');
    const rclone = await Rclone.locate({ configFile: file });
    const expected = [
      'local-models',
      'other',
      ...Array.from({ length: 10 }, (_, i) => ['a', 'b', 'c'].map((x) => `p${i}-${x}`)).flat(),
    ];
    assert.deepEqual(
      (await rcloneRemotes(rclone)).map((r) => r[0]),
      expected.sort(),
    );
  });

  it('a config in a folder this user cannot write gives PermissionDenied naming the folder', async () => {
    const child = bundleChild(dir.path, CHILD);
    const folder = join(dir.path, 'read-only');
    mkdirSync(folder);
    const file = join(folder, 'rclone.conf');
    writeFileSync(file, original, { mode: 0o644 });
    chmodSync(folder, 0o555);
    chmodSync(dir.path, 0o755); // so that user nobody reaches the script and the config
    // root may write anywhere: run the edit as user nobody then, a real unprivileged user.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534, env: { HOME: dir.path } } : {};
    const r = await execa(process.execPath, [child, file, '0', 'remove', 'other'], {
      ...asUser,
      timeout: 30_000,
    }).finally(() => chmodSync(folder, 0o755)); // else a non-root afterEach could not remove it
    const e = JSON.parse(r.stdout) as { kind: string; message: string; fix: string };
    assert.equal(e.kind, 'PermissionDenied', r.stdout);
    assert.ok(e.fix.includes(folder), e.fix);
    assert.equal(readFileSync(file, 'utf8'), original);
    assert.deepEqual(readdirSync(folder), ['rclone.conf']);
  });

  it('edits a symlinked config through the link: the link stays, the file it points to is replaced', async (t) => {
    const real = join(dir.path, 'dotfiles', 'rclone.conf');
    mkdirSync(join(dir.path, 'dotfiles'));
    writeFileSync(real, original, { mode: 0o600 });
    mkdirSync(join(dir.path, 'config'));
    const link = join(dir.path, 'config', 'rclone.conf');
    symlinkSync('../dotfiles/rclone.conf', link);
    const rclone = await Rclone.locate({ configFile: link });
    const config = new RcloneConfig(rclone, link).watch();
    t.after(() => config.dispose());
    // The file is now replaced in the target's folder: the change must still be noticed.
    const changed = new Promise<void>((ok) => config.onDidChange(() => ok()));
    await config.setRemote('added', 'local', {});
    await Promise.race([
      changed,
      new Promise((_, no) => setTimeout(() => no(new Error('no change event within 5 s')), 5_000)),
    ]);
    await config.removeRemote('local-models');
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a symlink');
    assert.equal(readlinkSync(link), '../dotfiles/rclone.conf');
    assert.deepEqual(
      (await rcloneRemotes(rclone)).map((r) => r[0]),
      ['added', 'other'],
    );
    assert.equal(statSync(real).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir.path, 'config')), ['rclone.conf']);
  });

  it("keeps an existing config's mode and group (0640, 0660 for a team); a new one is 0600", async () => {
    const root = process.getuid?.() === 0;
    for (const mode of [0o640, 0o660, 0o600, 0o400]) {
      const file = join(dir.path, `rclone-${mode.toString(8)}.conf`);
      writeFileSync(file, original);
      chmodSync(file, mode);
      if (root) chownSync(file, 0, 65534); // a team group (nogroup here)
      const config = new RcloneConfig(await Rclone.locate({ configFile: file }), file);
      await config.setRemote('added', 'local', {});
      assert.equal(statSync(file).mode & 0o777, mode, mode.toString(8));
      if (root) assert.equal(statSync(file).gid, 65534, 'group kept');
    }
    const fresh = join(dir.path, 'new', 'rclone.conf');
    await new RcloneConfig(await Rclone.locate({ configFile: fresh }), fresh).setRemote('first', 'local', {});
    assert.equal(statSync(fresh).mode & 0o777, 0o600);
  });

  it('removes temp files a killed edit left (they hold every secret), never a fresh one or one not ours', async () => {
    const file = join(dir.path, 'rclone.conf');
    writeFileSync(file, original, { mode: 0o600 });
    const killed = join(dir.path, '.rclone.conf.0123456789ab.tmp');
    const live = join(dir.path, '.rclone.conf.ba9876543210.tmp'); // another writer's, this very moment
    const notOurs = join(dir.path, '.rclone.conf.swp');
    for (const f of [killed, live, notOurs]) writeFileSync(f, original, { mode: 0o600 });
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(killed, old, old);
    utimesSync(notOurs, old, old);
    const config = new RcloneConfig(await Rclone.locate({ configFile: file }), file);
    await config.removeRemote('local-models');
    const left = readdirSync(dir.path);
    assert.ok(!left.includes('.rclone.conf.0123456789ab.tmp'), 'the stale temp file is gone');
    assert.ok(left.includes('.rclone.conf.ba9876543210.tmp'), 'a fresh temp file may be a live writer: kept');
    assert.ok(left.includes('.rclone.conf.swp'), 'not ours: kept');
  });
});
