// The CLI's mount commands on real FUSE: durations that are obeyed, unmount's progress said once
// per change, and unmount/repair of a folder where nothing is mounted.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp } from '../helpers/mounts';
import { type Proxy, startProxy } from '../helpers/proxy';

describe('rclone-devbox mount commands', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'weights' });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    if (work) await cleanUp([work.path]);
    work?.dispose();
  });
  const fresh = () => (work = tempDir('rdb-climnt-')).path;
  const mounted = async (dir: string) => (await readRcloneMounts()).some((e) => e.mountPoint === dir);

  it('says "waiting for N uploads…" only when N changes, not on every look', async () => {
    const dir = fresh();
    const env = cliEnv(box, dir);
    const mnt = join(dir, 'mnt');
    const m = await cli(['mount', 's3:models', mnt, '--timeout', '30s', '--cache-dir', join(dir, 'vfs')], env);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, /^s3:models is mounted on .*\/mnt \(rclone pid \d+, log /);
    // rclone uploads a closed file after --vfs-write-back (5 s): two files stay pending that long,
    // while unmount looks every 250 ms.
    writeFileSync(join(mnt, 'a.bin'), 'a');
    writeFileSync(join(mnt, 'b.bin'), 'b');
    const u = await cli(['unmount', mnt, '--wait', '1m'], env);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout, `${mnt} is unmounted`);
    const lines = u.stderr.split('\n').filter(Boolean);
    assert.ok(lines.length >= 1, 'the pending uploads were reported');
    for (const [i, line] of lines.entries()) {
      assert.match(line, /^waiting for \d uploads?…$/);
      assert.notEqual(line, lines[i - 1], `said twice in a row: ${u.stderr}`);
    }
    assert.ok(lines.length <= 2, u.stderr);
    assert.equal(await mounted(mnt), false);
  });

  it('--timeout 1s is obeyed: a mount that cannot get ready fails in time and is undone', async () => {
    const dir = fresh();
    // Every byte to and from the server waits 10 s: the mount's root listing cannot finish in 1 s.
    let proxy: Proxy | undefined;
    try {
      proxy = await startProxy(box.s3.port, 10_000);
      const conf = join(dir, 'slow.conf');
      writeFileSync(conf, s3Remote('slow', proxy.endpoint), { mode: 0o600 });
      const mnt = join(dir, 'mnt');
      const r = await cli(
        ['mount', 'slow:models', mnt, '--timeout', '1s'],
        cliEnv(box, dir, { RCLONE_CONFIG: conf }),
        20_000,
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^slow:models was not ready on .*\/mnt within 1 s\./);
      assert.ok(r.ms < 8_000, `took ${r.ms} ms`);
      assert.equal(await mounted(mnt), false, 'nothing is left mounted');
    } finally {
      await proxy?.stop();
    }
  });

  it('unmount and repair of a folder where nothing is mounted say so and exit 1', async () => {
    const dir = fresh();
    const empty = join(dir, 'not-a-mount');
    mkdirSync(empty);
    const env = cliEnv(box, dir);
    const u = await cli(['unmount', empty], env);
    assert.equal(u.code, 1);
    assert.equal(u.stdout, '');
    assert.equal(u.stderr.trim(), `Nothing is mounted on ${empty}.`);
    const r = await cli(['repair', empty], env);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), `Nothing is mounted on ${empty}: there is no dead mount to repair.`);
    const missing = await cli(['unmount', join(dir, 'no-such-folder')], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Nothing is mounted on .*no-such-folder\.$/m);
  });

  it('repair cleans a dead mount (its rclone killed), and refuses a live one', async () => {
    const dir = fresh();
    const env = cliEnv(box, dir);
    const mnt = join(dir, 'mnt');
    const m = await cli(['mount', 's3:models', mnt, '--cache-dir', join(dir, 'vfs')], env);
    assert.equal(m.code, 0, m.stderr);
    const live = await cli(['repair', mnt], env);
    assert.equal(live.code, 1);
    assert.match(live.stderr, /is not dead/);
    assert.doesNotMatch(live.stderr, /Remount|Use Unmount/);
    process.kill(Number(/rclone pid (\d+)/.exec(m.stdout)![1]), 'SIGKILL');
    const fixed = await cli(['repair', mnt], env);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal(await mounted(mnt), false);
  });
});
