// A mount whose rclone is alive but does not answer (stopped, or its endpoint stuck mid-request):
// shown as "not answering", never mistaken for dead, never killed, and never allowed to stall the
// process that watches it (a stat of such a mount holds one of libuv's four worker threads).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { MountRegistry } from '../../src/core/mounts';
import { processAlive } from '../../src/core/processes';
import { type Box, putObjects, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';

/** Resolves with how long a small file read takes: it needs a free libuv worker thread. */
async function fileReadMs(): Promise<number> {
  const t0 = Date.now();
  await Promise.race([readFile('/proc/self/status'), new Promise((ok) => setTimeout(ok, 3_000))]);
  return Date.now() - t0;
}

describe('liveness', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let registry: MountRegistry;
  const stopped = new Set<number>();
  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', { 'cache_hub/.keep': '' });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    for (const pid of stopped) if (processAlive(pid)) process.kill(pid, 'SIGCONT');
    stopped.clear();
    registry?.dispose();
    if (work) await cleanUp([work.path]);
    work?.dispose();
  });
  const fresh = () => {
    work = tempDir('rdb-live-');
    registry = new MountRegistry(box.rclone, { stateDir: join(work.path, 'state') });
    return work.path;
  };
  const stop = (pid: number) => {
    stopped.add(pid);
    process.kill(pid, 'SIGSTOP');
  };
  const stateOf = async (mp: string) => (await registry.refresh()).find((m) => m.mountPoint === mp)?.state;

  it('our stopped rclone is "not answering", never stale; unmount and repair refuse and kill nothing; it recovers', async () => {
    const dir = fresh();
    const m = await registry.mount({ remote: 's3:models', mountPoint: join(dir, 'mnt'), cacheDir: join(dir, 'cache') });
    stop(m.pid!);
    const t0 = Date.now();
    assert.equal(await stateOf(m.mountPoint), 'not answering');
    assert.ok(Date.now() - t0 < 3_000, `told within its bound (${Date.now() - t0} ms)`);
    await assert.rejects(registry.unmount(m.mountPoint), (e) => isRcloneError(e, 'NotAnswering'));
    await assert.rejects(registry.repair(m.mountPoint), (e) => isRcloneError(e, 'NotAnswering'));
    await assert.rejects(registry.remount({ remote: 's3:models', mountPoint: m.mountPoint }), (e) =>
      isRcloneError(e, 'NotAnswering'),
    );
    assert.ok(processAlive(m.pid!), 'rclone was not killed');
    process.kill(m.pid!, 'SIGCONT');
    stopped.delete(m.pid!);
    await waitFor(async () => (await stateOf(m.mountPoint)) === 'mounted');
    await registry.unmount(m.mountPoint);
  });

  it('a stopped mount of another tool is "not answering", and watching it never ties up the worker threads', async () => {
    const dir = fresh();
    const mp = join(dir, 'seed');
    mkdirSync(mp);
    const cache = join(dir, 'cache');
    await execa(
      box.rclone.path,
      ['--config', box.configFile, 'mount', 's3:models', mp, '--cache-dir', cache, '--daemon'],
      { env: box.rclone.env, extendEnv: false },
    );
    const pid = Number(
      (await execa('pgrep', ['-f', '--', `--cache-dir ${cache}`])).stdout
        .split('\n')
        .find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('mount')),
    );
    assert.equal(await stateOf(mp), 'mounted');
    stop(pid);
    // The kernel answers from its attribute cache for a second (rclone's --attr-timeout), then asks rclone.
    await waitFor(async () => (await stateOf(mp)) === 'not answering', 10_000);
    // Six looks at once, then six more: each used to start a stat that never returns.
    const states = await Promise.all(Array.from({ length: 6 }, () => stateOf(mp)));
    assert.deepEqual(new Set(states), new Set(['not answering']));
    await Promise.all(Array.from({ length: 6 }, () => stateOf(mp)));
    assert.ok((await fileReadMs()) < 1_000, 'a file read still finds a free worker thread');
    const timer = Date.now();
    await new Promise((ok) => setTimeout(ok, 100));
    assert.ok(Date.now() - timer < 600, 'timers keep firing on time');
    process.kill(pid, 'SIGCONT');
    stopped.delete(pid);
    await waitFor(async () => (await stateOf(mp)) === 'mounted');
    await registry.unmount(mp, { force: true });
  });

  it('watch() never has two looks running at once, however slow a look is', async () => {
    fresh();
    let overlapping = 0;
    let running = 0;
    let looks = 0;
    const refresh = registry.refresh.bind(registry);
    registry.refresh = async () => {
      looks++;
      overlapping = Math.max(overlapping, ++running);
      try {
        await new Promise((ok) => setTimeout(ok, 200)); // a mount slow to answer
        return await refresh();
      } finally {
        running--;
      }
    };
    const watching = registry.watch(20);
    await new Promise((ok) => setTimeout(ok, 1_000));
    watching.dispose();
    assert.ok(looks >= 3, `it kept looking (${looks})`);
    assert.equal(overlapping, 1);
  });
});
