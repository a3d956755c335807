// Prewarm on a real mount of a real S3 server, behind the counting delay proxy (the "network"):
// 2,000 small objects in 100 folders plus a few multi-MB model files, as a model bucket has.
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { MountRegistry } from '../../src/core/mounts';
import {
  mountHolding,
  prewarm,
  recordWarmth,
  targetOf,
  warmContent,
  warmMetadata,
  warmth,
} from '../../src/core/prewarm';
import type { MountProfile } from '../../src/core/profile';
import { Rclone } from '../../src/core/rclone';
import { type Box, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';
import { type Proxy, startProxy } from '../helpers/proxy';

const MODEL_MB = 6;
const MODELS = 3;

/** Every folder and file under `dir`, read through the mount (what `find` does). */
async function traverse(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true });
  const below = await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => traverse(join(dir, e.name))));
  return entries.length + below.reduce((a, b) => a + b, 0);
}

async function readAll(path: string): Promise<number> {
  const fh = await open(path);
  const buf = Buffer.alloc(1 << 20);
  let n = 0;
  for (let r; (r = (await fh.read(buf, 0, buf.length, n)).bytesRead);) n += r;
  await fh.close();
  return n;
}

describe('prewarm', () => {
  let box: Box;
  let proxy: Proxy;
  let rclone: Rclone;
  let work: ReturnType<typeof tempDir>;
  let registry: MountRegistry;
  const external: ResultPromise[] = [];
  const mnt = () => join(work.path, 'mnt ü');
  const mount = (extra: Partial<MountProfile> = {}) =>
    registry.mount({
      remote: 's3:index-tts-data',
      mountPoint: mnt(),
      cacheDir: join(work.path, 'cache'),
      ...extra,
    });
  const target = async () => targetOf(registry, (await registry.look(mnt()))!);

  before(async () => {
    box = await startBox(['index-tts-data']);
    const src = tempDir('rdb-seed-');
    try {
      for (let f = 0; f < 100; f++) {
        const d = join(src.path, 'cache_hub', `f${String(f).padStart(3, '0')}`);
        mkdirSync(d, { recursive: true });
        for (let i = 0; i < 20; i++) writeFileSync(join(d, `o${i}.json`), `{"n":${i}}`);
      }
      writeFileSync(join(src.path, 'cache_hub', '.keep'), ''); // s3rver: a marker in every top folder
      mkdirSync(join(src.path, 'cache_hub_v23', 'models'), { recursive: true });
      writeFileSync(join(src.path, 'cache_hub_v23', '.keep'), '');
      for (let i = 0; i < MODELS; i++)
        writeFileSync(join(src.path, 'cache_hub_v23', 'models', `m${i}.pth`), Buffer.alloc(MODEL_MB << 20, i + 1));
      await box.rclone.run(['copy', '--transfers', '16', '--checkers', '16', '--', src.path, 's3:index-tts-data'], {
        timeoutMs: 300_000,
      });
    } finally {
      src.dispose();
    }
    proxy = await startProxy(box.s3.port, 15);
    const file = join(box.dir, 'proxied.conf');
    writeFileSync(file, s3Remote('s3', proxy.endpoint), { mode: 0o600 });
    rclone = await Rclone.locate({ configFile: file });
  });
  after(async () => {
    await proxy?.stop();
    await box?.dispose();
  });
  afterEach(async () => {
    registry?.dispose();
    for (const c of external.splice(0)) c.kill('SIGKILL');
    await cleanUp([work.path]);
    work.dispose();
  });
  const fresh = () => {
    work = tempDir('rdb-warm-');
    registry = new MountRegistry(rclone, { stateDir: join(work.path, 'state') });
  };

  it('metadata: one recursive listing through the mount rc, then a traversal asks the bucket nothing', async () => {
    fresh();
    await mount();
    const progress: number[] = [];
    const before = proxy.requests.length;
    const r = await warmMetadata(await target(), ['cache_hub'], { onProgress: (p) => progress.push(p.done) });
    assert.equal(r.way, 'rc');
    assert.ok(r.files >= 2000, `the mount knows ${r.files} files`);
    // ListR: 1,000 objects a request; the seed's lsl made one HEAD per object
    assert.ok(proxy.requests.length - before <= 5, proxy.requests.slice(before).join('\n'));
    assert.equal(progress.at(-1), 1);
    const quiet = proxy.requests.length;
    assert.equal(await traverse(join(mnt(), 'cache_hub')), 2101);
    assert.deepEqual(proxy.requests.slice(quiet), [], 'the warm traversal made requests');
  });

  it('metadata of a mount another tool made: walked through the mount (the slow way), then warm too', async () => {
    fresh();
    mkdirSync(mnt());
    const child = execa(
      rclone.path,
      ['--config', rclone.configFile!, 'mount', '--', 's3:index-tts-data/cache_hub', mnt()],
      { env: rclone.env, extendEnv: false, reject: false },
    );
    external.push(child);
    await waitFor(async () => (await readRcloneMounts()).some((e) => e.mountPoint === mnt()));
    const found = await mountHolding(registry, join(mnt(), 'f007'));
    assert.ok(found && found.target.rc === undefined && found.path === 'f007', JSON.stringify(found));
    const r = await warmMetadata(found.target, ['']);
    assert.equal(r.way, 'walk');
    assert.equal(r.files, 2001);
    const quiet = proxy.requests.length;
    assert.equal(await traverse(mnt()), 2101);
    assert.deepEqual(proxy.requests.slice(quiet), []);
  });

  it('metadata warming can be cancelled: the rc job is stopped, not left running in rclone', async () => {
    fresh();
    await mount();
    const t = await target();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(warmMetadata(t, ['cache_hub'], { signal: ac.signal }), (e) => isRcloneError(e, 'Cancelled'));
    const { jobids } = await t.rc!.call<{ jobids: number[] }>('job/list');
    for (const jobid of jobids) {
      const s = await t.rc!.call<{ finished: boolean }>('job/status', { jobid });
      assert.ok(s.finished, `job ${jobid} still runs`);
    }
  });

  it('refuses a folder that is not there, or outside the mount', async () => {
    fresh();
    await mount();
    const t = await target();
    await assert.rejects(warmMetadata(t, ['no_such_folder']), (e) => isRcloneError(e, 'NotFound'));
    await assert.rejects(warmMetadata(t, ['../elsewhere']), (e) => isRcloneError(e, 'NotFound'));
  });

  it('content: read once at ~1x the bytes, then served from the cache; cached files are skipped', async () => {
    fresh();
    await mount({ cacheMode: 'full' });
    const t = await target();
    const total = MODELS * (MODEL_MB << 20);
    const seen: number[] = [];
    const down = proxy.bytesDown();
    const r = await warmContent(t, ['cache_hub_v23/models'], { onProgress: (p) => seen.push(p.bytesDone) });
    const wire = proxy.bytesDown() - down;
    assert.equal(r.bytes, total);
    assert.equal(seen.at(-1), total);
    assert.ok(wire <= total * 1.05, `bytes on the wire ${wire} for ${total} file bytes`);
    const quiet = proxy.bytesDown();
    assert.equal(await readAll(join(mnt(), 'cache_hub_v23', 'models', 'm1.pth')), MODEL_MB << 20);
    assert.equal(proxy.bytesDown(), quiet, 'the model was fetched again after warming');
    const again = await warmContent(t, ['cache_hub_v23/models']);
    assert.deepEqual([again.files, again.skipped, again.bytes], [0, MODELS, 0]);
  });

  it('content: refused on a mount that does not keep content, and when it would not fit the cache', async () => {
    fresh();
    await mount({ cacheMode: 'writes' });
    await assert.rejects(warmContent(await target(), ['cache_hub_v23']), (e) => isRcloneError(e, 'NeedsFullCache'));
    await registry.unmount(mnt());
    await mount({ cacheMode: 'full', cacheMaxSize: '10M' });
    const down = proxy.bytesDown();
    await assert.rejects(
      warmContent(await target(), ['cache_hub_v23']),
      (e) => isRcloneError(e, 'WontFit') && /18 MB.*limited to 10 MB/.test(e.message),
    );
    assert.ok(proxy.bytesDown() - down < 100_000, 'model bytes were read before refusing');
  });

  it('remembers until when a mount stays warm, and forgets it when the mount is made again', async () => {
    fresh();
    await mount({ dirCacheTime: '2h' });
    const r = await prewarm(registry, await target(), ['cache_hub']);
    assert.ok(Math.abs(r.until - (Date.now() + 2 * 3_600_000)) < 60_000, 'until = now + --dir-cache-time');
    const warm = await warmth(registry.stateDir, await target());
    assert.deepEqual(
      warm.map((w) => w.path),
      ['cache_hub'],
    );
    await recordWarmth(registry.stateDir, await target(), ['cache_hub_v23'], 1); // expires at once
    await new Promise((ok) => setTimeout(ok, 5));
    assert.deepEqual(
      (await warmth(registry.stateDir, await target())).map((w) => w.path),
      ['cache_hub'],
    );
    await registry.unmount(mnt());
    await mount();
    assert.deepEqual(await warmth(registry.stateDir, await target()), [], 'a new rclone starts cold');
  });
});
