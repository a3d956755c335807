// Copy mode's core, on a real rclone and the local S3 server behind the fault proxy (its delay makes
// a copy last long enough to be cut, and its byte count shows what a resumed copy fetched again):
// a version copied whole and only then under its name; a copy killed with SIGKILL continued, not
// restarted; a version that does not fit refused with the numbers (a small tmpfs, as root);
// relink never pointing at a partial copy; old versions listed and removed, never the linked one;
// outputs uploaded with `rclone copy` and counted while pending.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { inspectLink, relink } from '../../src/core/link';
import {
  copyVersion,
  type CopyProgress,
  listLocalVersions,
  partialOf,
  pendingUploads,
  removeLocalVersion,
  uploadOutputs,
} from '../../src/core/localCopy';
import { Rclone } from '../../src/core/rclone';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { waitFor } from '../helpers/mounts';
import { rclonePidsWhere } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';

const MB = 1024 * 1024;
/** Eight 1 MB files of distinct content: a version big enough to cut in the middle behind a slow proxy. */
const v23: Record<string, string> = Object.fromEntries(
  Array.from({ length: 8 }, (_, i) => [`cache_hub_v23/part-${i}.bin`, String(i).repeat(MB)]),
);
const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

describe('local copies (copy mode): whole or not at all, continued after a kill, checked for space', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  let proxy: Proxy | undefined;

  before(async () => {
    box = await startBox(['models', 'outputs']);
    await putObjects(box, 'models', {
      ...v23,
      'cache_hub_v24/gpt.pth': 'weights v24',
      'cache_hub_v24/sub/config.yaml': 'model: v24',
    });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    if (work)
      for (const pid of rclonePidsWhere((argv) => argv.some((a) => a.includes(work!.path))))
        process.kill(pid, 'SIGKILL');
    proxy?.release();
    await proxy?.stop();
    work?.dispose();
    work = proxy = undefined;
  });

  async function world(delayMs = 0) {
    work = tempDir('rdb-copy-');
    proxy = await startProxy(box.s3.port, delayMs);
    const configFile = join(work.path, 'rclone.conf');
    writeFileSync(configFile, s3Remote('via', proxy.endpoint), { mode: 0o600 });
    const rclone = await Rclone.locate({ configFile });
    const root = join(work.path, 'copies');
    return { rclone, root, stateDir: join(work.path, 'state'), dir: work.path };
  }

  it('copies a version into a partial folder, then renames it: whole, with progress; a second call finds it', async () => {
    const { rclone, root, stateDir } = await world();
    const seen: CopyProgress[] = [];
    const dest = join(root, 'cache_hub_v24');
    const r = await copyVersion(rclone, 'via:models/cache_hub_v24', dest, {
      stateDir,
      onProgress: (p) => seen.push(p),
    });
    assert.deepEqual(r, { dest, bytes: 21, copied: true });
    assert.equal(readFileSync(join(dest, 'gpt.pth'), 'utf8'), 'weights v24');
    assert.equal(readFileSync(join(dest, 'sub/config.yaml'), 'utf8'), 'model: v24');
    assert.equal(existsSync(partialOf(dest)), false, 'no partial folder left');
    assert.deepEqual(seen.at(-1), { bytes: 21, totalBytes: 21 });
    const requests = proxy!.requests.length;
    const again = await copyVersion(rclone, 'via:models/cache_hub_v24', dest, { stateDir });
    assert.equal(again.copied, false);
    assert.equal(proxy!.requests.length, requests, 'a whole copy there: the bucket is not asked');
  });

  it('a copy killed with SIGKILL leaves no folder under the final name, and the next one continues it', async () => {
    const { rclone, root, stateDir, dir } = await world(40);
    const dest = join(root, 'cache_hub_v23');
    const partial = partialOf(dest);
    const first = copyVersion(rclone, 'via:models/cache_hub_v23', dest, { stateDir, transfers: 1 });
    // Cut once a few files are whole (transfers 1: they arrive one after the other).
    await waitFor(async () => (await listLocalVersions(root)).some((v) => v.partial && v.bytes >= 3 * MB), 60_000);
    const pids = rclonePidsWhere((argv) => argv.includes(partial));
    assert.equal(pids.length, 1, 'the copy runs in one rclone');
    process.kill(pids[0]!, 'SIGKILL');
    await assert.rejects(first);
    assert.equal(existsSync(dest), false, 'nothing under the final name');
    assert.ok(existsSync(partial));
    const bytesBefore = proxy!.bytesDown();
    proxy!.setDelay(0);
    const seen: CopyProgress[] = [];
    const r = await copyVersion(rclone, 'via:models/cache_hub_v23', dest, {
      stateDir,
      onProgress: (p) => seen.push(p),
    });
    assert.equal(r.copied, true);
    const fetched = proxy!.bytesDown() - bytesBefore;
    assert.ok(fetched < 6 * MB, `continued, not restarted: ${fetched} bytes fetched again of ${8 * MB}`);
    assert.ok(seen[0]!.bytes >= 3 * MB, `progress starts from what was there: ${seen[0]!.bytes}`);
    for (const [key, body] of Object.entries(v23))
      assert.equal(sha(readFileSync(join(root, key))), sha(body), `${key} whole`);
    assert.equal(existsSync(partial), false);
    assert.equal(rclonePidsWhere((argv) => argv.some((a) => a.includes(dir))).length, 0, 'no rclone left');
  });

  it('relink to a version still being copied is refused; the link keeps pointing at a whole copy', async () => {
    const { rclone, root, stateDir, dir } = await world(40);
    await copyVersion(rclone, 'via:models/cache_hub_v24', join(root, 'cache_hub_v24'), { stateDir });
    const link = join(dir, 'cache_hub');
    await relink(link, join(root, 'cache_hub_v24'), { stateDir });
    const copying = copyVersion(rclone, 'via:models/cache_hub_v23', join(root, 'cache_hub_v23'), { stateDir });
    await waitFor(async () => (await listLocalVersions(root)).some((v) => v.partial && v.bytes > 0), 60_000);
    await assert.rejects(relink(link, join(root, 'cache_hub_v23'), { stateDir }));
    assert.equal((await inspectLink(link)).target, join(root, 'cache_hub_v24'));
    const listed = await listLocalVersions(root, [link]);
    assert.deepEqual(
      listed.map((v) => [v.name, v.partial, v.linked]),
      [
        ['cache_hub_v23', true, false],
        ['cache_hub_v24', false, true],
      ],
    );
    proxy!.setDelay(0);
    await copying;
    await relink(link, join(root, 'cache_hub_v23'), { stateDir });
    assert.equal((await inspectLink(link)).target, join(root, 'cache_hub_v23'));
  });

  it('old versions are listed with their size and removed, never the one a link points at', async () => {
    const { rclone, root, stateDir, dir } = await world();
    for (const v of ['cache_hub_v23', 'cache_hub_v24'])
      await copyVersion(rclone, `via:models/${v}`, join(root, v), { stateDir });
    const link = join(dir, 'cache_hub');
    await relink(link, join(root, 'cache_hub_v24'), { stateDir });
    const listed = await listLocalVersions(root, [link]);
    assert.deepEqual(
      listed.map((v) => [v.name, v.bytes, v.linked]),
      [
        ['cache_hub_v23', 8 * MB, false],
        ['cache_hub_v24', 21, true],
      ],
    );
    await assert.rejects(removeLocalVersion(root, join(root, 'cache_hub_v24'), [link]), (e) =>
      isRcloneError(e, 'LinkInTheWay'),
    );
    assert.ok(existsSync(join(root, 'cache_hub_v24/gpt.pth')));
    assert.equal(await removeLocalVersion(root, join(root, 'cache_hub_v23'), [link]), 8 * MB);
    assert.deepEqual(
      (await listLocalVersions(root)).map((v) => v.name),
      ['cache_hub_v24'],
    );
    await assert.rejects(removeLocalVersion(root, dir, [link]), (e) => isRcloneError(e, 'ConfigInvalid'));
  });

  it('a version that does not fit on the disk is refused with the numbers, before anything is copied', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs');
    const { rclone, root, stateDir } = await world();
    mkdirSync(root, { recursive: true });
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', root], { reject: false });
    if (mounted.exitCode !== 0) return t.skip(`cannot mount a tmpfs here: ${mounted.stderr}`);
    try {
      const requests = proxy!.requests.length;
      await assert.rejects(
        copyVersion(rclone, 'via:models/cache_hub_v23', join(root, 'cache_hub_v23'), { stateDir }),
        (e: Error) =>
          isRcloneError(e, 'WontFit') && /holds 8\.0 MB, and the disk of .* has [\d.]+ MB free/.test(e.message),
      );
      assert.ok(
        proxy!.requests.slice(requests).every((r) => !/^GET \/models\/cache_hub_v23\/part/.test(r)),
        'no file was downloaded',
      );
      assert.deepEqual(await listLocalVersions(root), []);
    } finally {
      await execa('umount', [root], { reject: false });
    }
  });

  it('outputs: new and changed files are counted as pending, uploaded with rclone copy, and nothing in the bucket is deleted', async () => {
    const { rclone, stateDir, dir } = await world();
    await putObjects(box, 'outputs', { 'box-1/earlier.wav': 'kept' });
    const local = join(dir, 'outputs');
    mkdirSync(join(local, 'run 1'), { recursive: true });
    writeFileSync(join(local, 'run 1', 'take.wav'), 'take one');
    writeFileSync(join(local, '合成.wav'), 'unicode');
    const remote = 'via:outputs/box-1';
    assert.deepEqual(await pendingUploads(local, remote, stateDir), ['run 1/take.wav', '合成.wav']);
    assert.equal(await uploadOutputs(rclone, local, remote, { stateDir }), 2);
    assert.deepEqual(await pendingUploads(local, remote, stateDir), []);
    const cat = (key: string) => box.rclone.run(['cat', '--', `s3:outputs/box-1/${key}`], { timeoutMs: 30_000 });
    assert.equal(await cat('run 1/take.wav'), 'take one');
    assert.equal(await cat('合成.wav'), 'unicode');
    assert.equal(await cat('earlier.wav'), 'kept', 'copy, not sync: what was there stays');
    writeFileSync(join(local, 'run 1', 'take.wav'), 'take two');
    utimesSync(join(local, 'run 1', 'take.wav'), new Date(), new Date(Date.now() + 5_000));
    assert.deepEqual(await pendingUploads(local, remote, stateDir), ['run 1/take.wav']);
    assert.equal(await uploadOutputs(rclone, local, remote, { stateDir }), 1);
    assert.equal(await cat('run 1/take.wav'), 'take two');
    assert.equal(await uploadOutputs(rclone, local, remote, { stateDir }), 0, 'nothing pending: rclone not run');
  });
});
