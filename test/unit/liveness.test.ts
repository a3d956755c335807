// A mount whose rclone is alive but does not answer (stopped, or its endpoint stuck mid-request):
// shown as "not answering", never mistaken for dead, never killed, and never allowed to stall the
// process that watches it (a stat of such a mount holds one of libuv's four worker threads).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { processAlive } from '../../src/core/processes';
import { mountSuite, waitFor } from '../helpers/mounts';

/** Resolves with how long a small file read takes: it needs a free libuv worker thread. */
async function fileReadMs(): Promise<number> {
  const t0 = Date.now();
  await Promise.race([readFile('/proc/self/status'), new Promise((ok) => setTimeout(ok, 3_000))]);
  return Date.now() - t0;
}

describe('liveness', () => {
  const suite = mountSuite('rdb-live-', { 'cache_hub/.keep': '' });
  const fresh = () => suite.fresh();
  const stopped = new Set<number>();
  afterEach(() => {
    for (const pid of stopped) if (processAlive(pid)) process.kill(pid, 'SIGCONT'); // never leave a stopped process behind
    stopped.clear();
  });
  const stop = (pid: number) => {
    stopped.add(pid);
    process.kill(pid, 'SIGSTOP');
  };
  const stateOf = async (mp: string) => (await suite.registry.refresh()).find((m) => m.mountPoint === mp)?.state;

  it('our stopped rclone is "not answering", never stale; unmount and repair refuse and kill nothing; it recovers', async () => {
    const dir = fresh();
    const m = await suite.registry.mount({
      remote: 's3:models',
      mountPoint: join(dir, 'mnt'),
      cacheDir: join(dir, 'cache'),
    });
    stop(m.pid!);
    const t0 = Date.now();
    assert.equal(await stateOf(m.mountPoint), 'not answering');
    assert.ok(Date.now() - t0 < 3_000, `told within its bound (${Date.now() - t0} ms)`);
    await assert.rejects(suite.registry.unmount(m.mountPoint), (e) => isRcloneError(e, 'NotAnswering'));
    await assert.rejects(suite.registry.repair(m.mountPoint), (e) => isRcloneError(e, 'NotAnswering'));
    await assert.rejects(suite.registry.remount({ remote: 's3:models', mountPoint: m.mountPoint }), (e) =>
      isRcloneError(e, 'NotAnswering'),
    );
    assert.ok(processAlive(m.pid!), 'rclone was not killed');
    process.kill(m.pid!, 'SIGCONT');
    stopped.delete(m.pid!);
    await waitFor(async () => (await stateOf(m.mountPoint)) === 'mounted');
    await suite.registry.unmount(m.mountPoint);
  });

  it('a stopped mount of another tool is "not answering", and watching it never ties up the worker threads', async () => {
    const dir = fresh();
    const mp = join(dir, 'seed');
    mkdirSync(mp);
    const cache = join(dir, 'cache');
    await execa(
      suite.box.rclone.path,
      ['--config', suite.box.configFile, 'mount', 's3:models', mp, '--cache-dir', cache, '--daemon'],
      { env: suite.box.rclone.env, extendEnv: false },
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
    await suite.registry.unmount(mp, { force: true });
  });

  it('watch() never has two looks running at once, however slow a look is', async () => {
    fresh();
    let overlapping = 0;
    let running = 0;
    let looks = 0;
    const refresh = suite.registry.refresh.bind(suite.registry);
    suite.registry.refresh = async () => {
      looks++;
      overlapping = Math.max(overlapping, ++running);
      try {
        await new Promise((ok) => setTimeout(ok, 200)); // a mount slow to answer
        return await refresh();
      } finally {
        running--;
      }
    };
    const watching = suite.registry.watch(20);
    await new Promise((ok) => setTimeout(ok, 1_000));
    watching.dispose();
    assert.ok(looks >= 3, `it kept looking (${looks})`);
    assert.equal(overlapping, 1);
  });
});
