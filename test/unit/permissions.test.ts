// "Check permissions" against a real S3 server (s3rver) with real rclone. s3rver has no IAM: a key
// either works for everything or, with a wrong secret under V2 signing (the only signing it
// checks), for nothing, so the denials tested here are those of refused credentials. Writes that
// fail while lists and reads work come from the server refusing a storage class it does not have.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { checkPermissions, type Operation, OPERATIONS } from '../../src/core/permissions';
import { Rclone } from '../../src/core/rclone';
import { type Box, putObjects, s3Remote, startBox } from '../helpers/fixtures';
import { rclonePidsWhere } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';

const WRONG_SECRET = 'wrong-secret-permcheck-5678';
const SCRATCH = '.rclone-devbox-permcheck-';

/** Every object key of a bucket, through the working remote. */
async function keys(box: Box, bucket: string): Promise<string[]> {
  const out = await box.rclone.run(['lsf', '-R', '--files-only', '--', `s3:${bucket}`], { timeoutMs: 30_000 });
  return out.split('\n').filter(Boolean).sort();
}

describe('checkPermissions', () => {
  let box: Box;
  before(
    async () => {
      box = await startBox(['models', 'outputs']);
      // A remote "bad" with a wrong secret, on the server's port (known only now). s3rver checks
      // V2 signatures only: with V2 signing a wrong secret is refused for real.
      writeFileSync(
        box.configFile,
        s3Remote('s3', box.s3.endpoint) +
          `${s3Remote('bad', box.s3.endpoint, WRONG_SECRET)}v2_auth = true\n` +
          // Every upload refused by the server itself (400 InvalidStorageClass); reads and lists work.
          `${s3Remote('nowrite', box.s3.endpoint)}storage_class = NOT_A_CLASS\n`,
        { mode: 0o600 },
      );
      await putObjects(box, 'models', {
        'cache_hub/gpt.pth': 'x'.repeat(2048),
        // An earlier check's leftover: not this check's to delete.
        [`cache_hub/${SCRATCH}000000000000`]: 'left by someone else',
      });
      await putObjects(box, 'outputs', { 'run1/audio.wav': 'RIFF' });
    },
    { timeout: 60_000 },
  );
  after(() => box?.dispose());

  it('full rights on a bucket: all four allowed, and the scratch object is gone after', async () => {
    const steps: Operation[] = [];
    const report = await checkPermissions(box.rclone, 's3:outputs', { onStep: (op) => steps.push(op) });
    for (const op of OPERATIONS) assert.deepEqual(report[op], { verdict: 'allowed' }, op);
    assert.deepEqual(steps, ['list', 'write', 'read', 'delete']);
    assert.match(report.scratch, /^s3:outputs\/\.rclone-devbox-permcheck-[0-9a-f]{12}$/);
    assert.equal(report.readFrom, report.scratch);
    assert.equal(report.leftover, undefined);
    assert.deepEqual(await keys(box, 'outputs'), ['run1/audio.wav']);
  });

  it('full rights on a folder: the scratch object goes there, and nothing else is touched', async () => {
    const before = await keys(box, 'models');
    const report = await checkPermissions(box.rclone, 's3:models/cache_hub/', {});
    assert.equal(report.target, 's3:models/cache_hub');
    assert.ok(report.scratch.startsWith(`s3:models/cache_hub/${SCRATCH}`), report.scratch);
    for (const op of OPERATIONS) assert.equal(report[op].verdict, 'allowed', `${op}: ${report[op].message}`);
    // The other scratch-looking object was not written by this check: it stays.
    assert.deepEqual(await keys(box, 'models'), before);
    assert.ok(before.includes(`cache_hub/${SCRATCH}000000000000`));
  });

  it('refused credentials: every operation denied (AuthFailed), nothing written, the secret never shown', async () => {
    const steps: Operation[] = [];
    const report = await checkPermissions(box.rclone, 'bad:outputs', { onStep: (op) => steps.push(op) });
    for (const op of OPERATIONS) {
      assert.equal(report[op].verdict, 'denied', op);
      assert.equal(report[op].kind, 'AuthFailed', op);
      assert.match(report[op].message ?? '', /The credentials for bad were refused/);
    }
    // Once the endpoint refuses the credentials, nothing more is asked of it.
    assert.deepEqual(steps, ['list']);
    assert.equal(report.leftover, undefined);
    assert.ok(!JSON.stringify(report).includes(WRONG_SECRET), 'the secret is in the report');
    assert.deepEqual(await keys(box, 'outputs'), ['run1/audio.wav']);
  });

  it('writes refused by the server: write is an error, a listed file is read instead, delete is not tried', async () => {
    const report = await checkPermissions(box.rclone, 'nowrite:outputs/run1', {});
    assert.deepEqual(report.list, { verdict: 'allowed' });
    assert.equal(report.write.verdict, 'error'); // not a permission: the server refused what was sent
    assert.equal(report.write.kind, 'Unknown');
    assert.match(report.write.message ?? '', /InvalidStorageClass/);
    assert.deepEqual(report.read, { verdict: 'allowed' });
    assert.equal(report.readFrom, 'nowrite:outputs/run1/audio.wav');
    assert.equal(report.delete.verdict, 'untested');
    assert.match(report.delete.message ?? '', /only an object this check wrote is deleted/);
    assert.equal(report.leftover, undefined);
    assert.deepEqual(await keys(box, 'outputs'), ['run1/audio.wav']);
  });

  it('a bucket that does not exist: list fails with BucketNotFound, the rest is not tried, no bucket is made', async () => {
    const report = await checkPermissions(box.rclone, 's3:no-such-bucket/out', {});
    assert.equal(report.list.verdict, 'error');
    assert.equal(report.list.kind, 'BucketNotFound');
    assert.match(report.list.message ?? '', /There is no bucket "no-such-bucket" on s3/);
    for (const op of ['read', 'write', 'delete'] as const) {
      assert.equal(report[op].verdict, 'untested', op);
      assert.equal(report[op].kind, 'BucketNotFound', op);
    }
    const buckets = await box.rclone.run(['lsf', '--dirs-only', '--', 's3:'], { timeoutMs: 30_000 });
    assert.deepEqual(buckets.split('\n').filter(Boolean).sort(), ['models/', 'outputs/']);
  });

  describe('through a proxy (the network between box and endpoint)', () => {
    let proxy: Proxy;
    let slow: Rclone;
    before(async () => {
      proxy = await startProxy(box.s3.port);
      const conf = join(box.dir, 'slow.conf');
      writeFileSync(conf, s3Remote('slow', proxy.endpoint), { mode: 0o600 });
      slow = await Rclone.locate({ configFile: conf });
    });
    after(() => proxy?.stop());

    it('while reading the scratch object back: Cancelled, its rclone ended, the object removed', async () => {
      const stop = new AbortController();
      let reading: Promise<void> | undefined;
      let inFlight = false;
      const checking = checkPermissions(slow, 'slow:outputs', {
        signal: stop.signal,
        onStep: (op) => {
          if (op !== 'read') return;
          // The endpoint stops answering with the read on its way, then the user cancels.
          proxy.hold();
          reading = (async () => {
            const start = Date.now();
            while (!(inFlight = proxy.requests.some((r) => r.startsWith('HEAD ') && r.includes(SCRATCH)))) {
              if (Date.now() - start > 10_000) break;
              await new Promise((ok) => setTimeout(ok, 20));
            }
            await new Promise((ok) => setTimeout(ok, 100));
            stop.abort();
            proxy.release();
          })();
        },
      });
      await assert.rejects(checking, (e) => isRcloneError(e, 'Cancelled'));
      await reading;
      assert.ok(inFlight, 'the read of the scratch object never reached the endpoint');
      const put = proxy.requests.find((r) => r.startsWith('PUT ') && r.includes(SCRATCH));
      assert.ok(put, `no upload of the scratch object in ${proxy.requests.join('\n')}`);
      assert.ok(
        proxy.requests.some((r) => r.startsWith('DELETE ') && r.includes(SCRATCH)),
        'the scratch object was not deleted',
      );
      assert.deepEqual(await keys(box, 'outputs'), ['run1/audio.wav']);
      assert.deepEqual(
        rclonePidsWhere((argv) => argv.includes(slow.configFile!)),
        [],
        'an rclone of the check still runs',
      );
    });

    it('the endpoint gone before the delete: delete is an error, and the scratch object is reported as left', async () => {
      const report = await checkPermissions(slow, 'slow:outputs', {
        onStep: (op) => void (op === 'delete' && proxy.down()),
      });
      await proxy.up();
      assert.deepEqual(
        [report.list, report.write, report.read].map((c) => c.verdict),
        ['allowed', 'allowed', 'allowed'],
      );
      assert.equal(report.delete.verdict, 'error');
      assert.equal(report.delete.kind, 'Unreachable');
      assert.equal(report.leftover?.location, report.scratch);
      assert.match(report.leftover?.message ?? '', /The endpoint of slow cannot be reached/);
      const left = report.scratch.slice('slow:outputs/'.length);
      assert.deepEqual(await keys(box, 'outputs'), [left, 'run1/audio.wav']);
      await box.rclone.run(['deletefile', '--', `s3:outputs/${left}`], { timeoutMs: 30_000 });
    });
  });
});
