// What makes the CLI as fast as rclone itself (bench/cli.bench.ts measures it): once warm, `ls` is
// one rclone and one S3 request; the rclone version is asked again only when the binary changes;
// a mount's readiness ends its diagnosis listing as soon as the mount is ready.
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { MountRegistry } from '../../src/core/mounts';
import { Rclone } from '../../src/core/rclone';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';
import { rclonePidsWhere } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';

describe('rclone-devbox speed', () => {
  let box: Box;
  let proxy: Proxy;
  let work: ReturnType<typeof tempDir>;
  let calls: string;
  let wrapper: string;
  let env: Record<string, string>;
  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', {
      'cache_hub/.keep': '',
      'cache_hub/gpt.pth': 'weights',
      'cache_hub/a/b.bin': 'b',
    });
    proxy = await startProxy(box.s3.port);
    work = tempDir('rdb-clispeed-');
    const conf = join(work.path, 'rclone.conf');
    writeFileSync(conf, `${s3Remote('s3', proxy.endpoint)}\n[loc]\ntype = local\n`, { mode: 0o600 });
    // The real rclone, run through a script that notes each start: how many rclones a command costs.
    calls = join(work.path, 'calls.log');
    wrapper = join(work.path, 'bin', 'rclone');
    mkdirSync(join(work.path, 'bin'));
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${box.rclone.path}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    env = cliEnv(box, work.path, { RCLONE_CONFIG: conf, RCLONE_DEVBOX_RCLONE: wrapper });
  });
  after(async () => {
    await proxy?.stop();
    await box?.dispose();
    work?.dispose();
  });
  afterEach(() => writeFileSync(calls, ''));

  /** The rclone subcommands started since the last look. */
  const started = () => {
    const text = readFileSync(calls, 'utf8');
    writeFileSync(calls, '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').find((w) => ['version', 'backend', 'lsjson', 'config'].includes(w)) ?? l);
  };

  it('a warm `ls` is one rclone and one S3 request: no `rclone version`, no `backend features`, no HEAD', async () => {
    const first = await cli(['ls', 's3:models/cache_hub'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, ['.keep\t0', 'a/\t-', 'gpt.pth\t7'].join('\n'));
    assert.deepEqual(started(), ['version', 'lsjson'], 's3 lists in pages: known from the config, not asked');
    proxy.requests.length = 0;
    const warm = await cli(['ls', 's3:models/cache_hub'], env);
    assert.equal(warm.stdout, first.stdout);
    assert.deepEqual(started(), ['lsjson']);
    assert.deepEqual(
      proxy.requests.map((r) => r.split(' ')[0]),
      ['GET'],
      `one listing request, no HEAD for "is it a file?": ${proxy.requests.join('\n')}`,
    );
  });

  it('an object named as a folder path is still listed (the trailing-slash shortcut falls back)', async () => {
    const r = await cli(['ls', 's3:models/cache_hub/gpt.pth'], env);
    assert.equal(r.stdout, 'gpt.pth\t7');
    const missing = await cli(['ls', 's3:models/no-such-folder'], env);
    assert.equal(missing.code, 0, missing.stderr);
    assert.equal(missing.stdout, '');
  });

  it('the rclone version is asked again once the binary changes', async () => {
    await cli(['--version'], env);
    started();
    assert.equal((await cli(['--version'], env)).code, 0);
    assert.deepEqual(started(), [], 'kept from the last run');
    appendFileSync(wrapper, '# another build\n');
    const r = await cli(['--version'], env);
    assert.match(r.stdout, /\nrclone v1\.\d+/);
    assert.deepEqual(started(), ['version']);
  });

  it('a backend type not known to list in pages is asked once, then kept', async () => {
    const folder = join(work.path, 'local');
    mkdirSync(folder);
    writeFileSync(join(folder, 'x.txt'), 'x');
    const target = `loc:${folder}`;
    await cli(['--version'], env);
    started();
    assert.equal((await cli(['ls', target], env)).stdout, 'x.txt\t1');
    assert.deepEqual(started(), ['backend', 'lsjson']);
    assert.equal((await cli(['ls', target], env)).stdout, 'x.txt\t1');
    assert.deepEqual(started(), ['lsjson']);
  });
});

describe('mount readiness', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let proxy: Proxy;
  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', { 'cache_hub/.keep': '' });
    work = tempDir('rdb-ready-');
    // 1.5 s each way: the mount's root listing takes ~3 s, past the 2 s after which readiness
    // starts a separate listing to learn why it is slow.
    proxy = await startProxy(box.s3.port, 1_500);
  });
  after(async () => {
    await cleanUp([work.path]);
    await proxy?.stop();
    await box?.dispose();
    work?.dispose();
  });

  it('ends its diagnosis listing as soon as the mount is ready, instead of leaving it to run', async () => {
    const conf = join(work.path, 'slow.conf');
    writeFileSync(conf, s3Remote('slow', proxy.endpoint), { mode: 0o600 });
    const rclone = await Rclone.locate({ configFile: conf });
    const registry = new MountRegistry(rclone, { stateDir: join(work.path, 'state') });
    const listing = () => rclonePidsWhere((argv) => argv.includes('lsjson') && argv.includes(conf));
    let diagnosed = false;
    const watch = setInterval(() => (diagnosed ||= listing().length > 0), 20);
    try {
      const m = await registry.mount(
        { remote: 'slow:models', mountPoint: join(work.path, 'mnt') },
        { timeoutMs: 20_000 },
      );
      assert.ok(diagnosed, 'the mount was slow enough for a diagnosis listing');
      // Left alone, it would run ~1.5 s more (its own request through the slow link).
      await waitFor(() => listing().length === 0, 500);
      await registry.unmount(m.mountPoint, { force: true });
    } finally {
      clearInterval(watch);
      registry.dispose();
    }
  });
});
