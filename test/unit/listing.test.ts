import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import {
  type Entry,
  hasListR,
  listBuckets,
  listFolder,
  location,
  type Page,
  Pager,
  parseLsjsonLine,
  streamFolder,
} from '../../src/core/listing';
import { Rclone } from '../../src/core/rclone';
import { type Box, putObjects, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { type Proxy, startProxy } from '../helpers/proxy';
import { rclonePids } from '../helpers/procs';

const WEIRD = [
  ' leading space.bin',
  'ünïcode 模型 🚀.safetensors',
  `"double" and 'single' quotes.txt`,
  '$(touch rdb-pwned) `id`.txt',
  'line\nbreak.txt',
  '-rf',
  '--help',
  'semi;colon & pipe | star *.txt',
];

const rcloneRunningWith = (needle: string) => rclonePids(needle).length > 0;

/** Milliseconds until every one of `pids` is gone, or Infinity if one is still there after `withinMs`. */
async function goneAfter(pids: number[], withinMs = 200): Promise<number> {
  const start = Date.now();
  while (pids.some((pid) => existsSync(`/proc/${pid}`))) {
    if (Date.now() - start > withinMs) return Infinity;
    await new Promise((ok) => setTimeout(ok, 5));
  }
  return Date.now() - start;
}

/**
 * What a suite's `before` starts, released by its `after` whatever `before` got to: a setup that
 * failed or timed out halfway (S3 server down, seeding stuck) must neither hang the run nor leave
 * thousands of files in /tmp. Something that finishes starting after the release is released at once.
 */
class Held {
  private readonly abort = new AbortController();
  private readonly releases: Array<() => unknown> = [];
  /** Aborted by release(): setup steps take it, so that they stop too. */
  readonly signal = this.abort.signal;

  /** Registers how to release what `starting` gives, and returns it. */
  async keep<T>(starting: T | Promise<T>, release: (value: T) => unknown): Promise<T> {
    const value = await starting;
    this.releases.push(() => release(value));
    if (this.signal.aborted) {
      await this.release();
      throw new Error('The suite was released while this was starting.');
    }
    return value;
  }

  async release(): Promise<void> {
    this.abort.abort();
    for (const release of this.releases.splice(0).reverse()) {
      try {
        await release();
      } catch (e) {
        console.warn(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}

const SEED_PREFIX = 'rdb-listing-seed-';

/**
 * `count` small objects `<target>/file-00001.bin`… and a `.keep` marker, in one `rclone copy`. Unlike
 * fixtures' seedFolder, `held` stops the copy and removes its temp dir even when the hook timed out.
 */
async function seed(held: Held, rclone: Rclone, target: string, count: number): Promise<void> {
  const src = await held.keep(tempDir(SEED_PREFIX), (dir) => dir.dispose());
  try {
    for (let i = 1; i <= count; i++)
      writeFileSync(join(src.path, `file-${String(i).padStart(5, '0')}.bin`), 'x'.repeat(16));
    writeFileSync(join(src.path, '.keep'), '');
    await rclone.run(['copy', '--transfers', '16', '--checkers', '16', '--', src.path, target], {
      timeoutMs: 120_000,
      signal: held.signal,
    });
  } finally {
    src.dispose();
  }
}

describe('listing', () => {
  const held = new Held();
  let box: Box;
  before(
    async () => {
      box = await held.keep(startBox(['models', 'datasets']), (b) => b.dispose());
      await putObjects(box, 'models', {
        'cache_hub/.keep': '',
        'cache_hub/gpt.pth': 'x'.repeat(1234),
        'cache_hub/config.yaml': 'a: 1\n',
        'cache_hub/bpe/.keep': '',
        ...Object.fromEntries(WEIRD.map((n) => [`weird/${n}`, n])),
      });
      await seed(held, box.rclone, 's3:models/flat', 2000);
    },
    { timeout: 60_000 },
  );
  after(() => held.release());

  it('lists the buckets of a remote', async () => {
    const buckets = await listBuckets(box.rclone, 's3');
    assert.deepEqual(
      buckets.map((b) => [b.name, b.isDir, b.isBucket]),
      [
        ['datasets', true, true],
        ['models', true, true],
      ],
    );
  });

  it('lists a folder with size and kind of each entry', async () => {
    const page = await listFolder(box.rclone, location('s3', 'models', 'cache_hub'));
    const byName = Object.fromEntries(page.entries.map((e) => [e.name, e]));
    assert.equal(page.more, false);
    assert.deepEqual(Object.keys(byName).sort(), ['.keep', 'bpe', 'config.yaml', 'gpt.pth']);
    assert.deepEqual([byName['gpt.pth']!.size, byName['gpt.pth']!.isDir], [1234, false]);
    assert.deepEqual([byName.bpe!.size, byName.bpe!.isDir], [-1, true]);
  });

  it('handles names with spaces, unicode, quotes, $(), newlines and leading dashes', async () => {
    const page = await listFolder(box.rclone, location('s3', 'models', 'weird'));
    // rclone shows a control character in a name as its Unicode picture (\n as ␊), and takes that form back.
    const shown = WEIRD.map((n) => n.replace('\n', '␊'));
    assert.deepEqual(page.entries.map((e) => e.name).sort(), [...shown].sort());
    for (const e of page.entries) assert.equal(e.size, Buffer.byteLength(e.name.replace('␊', '\n')), e.name);
    const broken = await listFolder(box.rclone, location('s3', 'models', 'weird', 'line␊break.txt'));
    assert.deepEqual(
      broken.entries.map((e) => e.size),
      [Buffer.byteLength('line\nbreak.txt')],
    );
    // and each can be addressed on its own again
    const dashed = await listFolder(box.rclone, location('s3', 'models', 'weird', '-rf'));
    assert.deepEqual(
      dashed.entries.map((e) => e.name),
      ['-rf'],
    );
  });

  it('cuts a 2,000-object folder off at the limit, reports more, and stops rclone', async () => {
    const target = location('s3', 'models', 'flat');
    const seen: string[] = [];
    const page = await listFolder(box.rclone, target, { limit: 100, onEntry: (e) => seen.push(e.name) });
    assert.equal(page.entries.length, 100);
    assert.equal(page.more, true);
    assert.deepEqual(
      seen,
      page.entries.map((e) => e.name),
    );
    assert.equal(rcloneRunningWith(target), false, 'rclone must not be left running after the cut-off');
    const all = await listFolder(box.rclone, target);
    assert.equal(all.entries.length, 2001); // 2,000 objects + the .keep marker
    assert.equal(all.more, false);
  });

  it('hands out the first entries while rclone is still running', async () => {
    const target = location('s3', 'models', 'flat');
    let runningAtFirst: boolean | undefined;
    let count = 0;
    for await (const _ of streamFolder(box.rclone, target)) {
      if (count++ === 0) runningAtFirst = rcloneRunningWith(target);
    }
    assert.equal(runningAtFirst, true);
    assert.equal(count, 2001);
  });

  it('stops rclone when the caller cancels', async () => {
    const target = location('s3', 'models', 'flat');
    const ac = new AbortController();
    const pending = listFolder(box.rclone, target, { signal: ac.signal, onEntry: () => ac.abort() });
    await assert.rejects(pending, (e) => isRcloneError(e, 'Cancelled'));
    assert.equal(rcloneRunningWith(target), false);
  });

  it('tells a missing bucket from an empty folder', async () => {
    await assert.rejects(listFolder(box.rclone, location('s3', 'no-such-bucket')), (e) =>
      isRcloneError(e, 'BucketNotFound'),
    );
    await assert.rejects(
      listFolder(box.rclone, location('s3', 'no-such-bucket', 'deep/dir')),
      (e) => isRcloneError(e, 'BucketNotFound') && /no-such-bucket/.test(e.message),
    );
    // object stores have no folders: a prefix with nothing under it is simply empty
    assert.deepEqual(await listFolder(box.rclone, location('s3', 'models', 'nothing/here')), {
      entries: [],
      more: false,
    });
  });

  it("a streamed listing (the tree's pages) of a missing bucket says so, in the words listFolder uses", async () => {
    for (const listR of [false, true]) {
      const read = async () => {
        for await (const _ of streamFolder(box.rclone, location('s3', 'no-such-bucket'), { listR })) void _;
      };
      await assert.rejects(
        read,
        (e) => isRcloneError(e, 'BucketNotFound') && e.message === 'There is no bucket "no-such-bucket" on s3.',
      );
    }
  });

  it('parses lsjson framing lines', () => {
    assert.equal(parseLsjsonLine('['), undefined);
    assert.equal(parseLsjsonLine(']'), undefined);
    assert.deepEqual(parseLsjsonLine('{"Path":"a b","Name":"a b","Size":3,"IsDir":false},'), {
      name: 'a b',
      path: 'a b',
      size: 3,
      isDir: false,
    });
    assert.deepEqual(parseLsjsonLine('[{"Path":"d","Name":"d","Size":-1,"IsDir":true}]'), {
      name: 'd',
      path: 'd',
      size: -1,
      isDir: true,
    });
  });
});

describe('streamed listing (ListR backends)', () => {
  const held = new Held();
  let box: Box;
  let proxy: Proxy;
  let viaProxy: Rclone;
  before(
    async () => {
      box = await held.keep(startBox(['models']), (b) => b.dispose());
      await seed(held, box.rclone, 's3:models/flat', 2000);
      // s3rver's delimiter listing misses a folder whose objects are all two levels down
      // (ENVIRONMENT.md), so each first-level folder gets a .keep marker: both listings must agree.
      await putObjects(box, 'models', {
        'deep/.keep': '',
        'deep/a/.keep': '',
        'deep/a.txt': 'a',
        'deep/m.bin': 'mm',
        'deep/a/b/c.bin': 'c',
        'deep/a/b/d.bin': 'd',
        'deep/z/q.bin': 'q',
        'deep/z/r/s.bin': 's',
        'twin/.keep': '',
        'twin/foo': 'foo',
        'twin/foo/bar.bin': 'b',
      });
      proxy = await held.keep(startProxy(box.s3.port), (p) => p.stop());
      const slowProxy = await held.keep(startProxy(box.s3.port, 300), (p) => p.stop());
      const file = join(box.dir, 'proxied.conf');
      writeFileSync(file, s3Remote('s3', proxy.endpoint) + s3Remote('slow', slowProxy.endpoint), { mode: 0o600 });
      // "slow" is the same server behind 300 ms of latency each way: rclone then waits on S3, not on us.
      viaProxy = await Rclone.locate({ configFile: file });
    },
    { timeout: 60_000 },
  );
  after(() => held.release());

  it('knows which backends list in pages', async () => {
    assert.equal(await hasListR(box.rclone, 's3'), true);
    const local = tempDir();
    try {
      writeFileSync(join(box.dir, 'local.conf'), `[disk]\ntype = alias\nremote = ${local.path}\n`);
      const rclone = await Rclone.locate({ configFile: join(box.dir, 'local.conf') });
      assert.equal(await hasListR(rclone, 'disk'), false);
    } finally {
      local.dispose();
    }
  });

  it('reads only the first pages of a 2,000-object folder when a page of 100 is asked for', async () => {
    const target = location('s3', 'models', 'flat');
    const listCalls = () => proxy.requests.filter((r) => r.startsWith('GET /models?')).length;

    let before = listCalls();
    const plain = await listFolder(viaProxy, target, { limit: 100 });
    const plainCalls = listCalls() - before;

    before = listCalls();
    const streamed = await listFolder(viaProxy, target, { limit: 100, listR: true });
    const streamedCalls = listCalls() - before;

    assert.equal(plain.entries.length, 100);
    assert.equal(streamed.entries.length, 100);
    assert.ok(plain.more && streamed.more);
    assert.equal(plainCalls, 3, 'a plain listing reads all three pages of 1,000 keys before printing');
    assert.ok(streamedCalls < plainCalls, `streamed listing made ${streamedCalls} list calls`);
  });

  it('derives the first level from recursive keys, same as a plain listing', async () => {
    const target = location('s3', 'models', 'deep');
    const summary = (p: Page) => p.entries.map((e) => `${e.name}${e.isDir ? '/' : ''}:${e.size}`).sort();
    const plain = await listFolder(box.rclone, target);
    assert.deepEqual(summary(await listFolder(box.rclone, target, { listR: true })), summary(plain));
    assert.deepEqual(summary(plain), ['.keep:0', 'a.txt:1', 'a/:-1', 'm.bin:2', 'z/:-1']);
    // a tiny budget for deeper keys forces the switch to a plain listing midway: still the same entries
    assert.deepEqual(summary(await listFolder(box.rclone, target, { listR: true, deepBudget: 1 })), summary(plain));
    const files = await listFolder(box.rclone, target, { listR: true, only: 'files' });
    assert.deepEqual(summary(files), ['.keep:0', 'a.txt:1', 'm.bin:2']);
  });

  it('keeps an object foo and a prefix foo/ side by side, however the folder is listed', async () => {
    const target = location('s3', 'models', 'twin');
    const summary = (p: Page) => p.entries.map((e) => `${e.name}${e.isDir ? '/' : ''}:${e.size}`).sort();
    const both = ['.keep:0', 'foo/:-1', 'foo:3'];
    assert.deepEqual(summary(await listFolder(box.rclone, target)), both);
    assert.deepEqual(summary(await listFolder(box.rclone, target, { listR: true })), both);
    // switching to the plain listing midway skips what was yielded, telling the file from the folder
    assert.deepEqual(summary(await listFolder(box.rclone, target, { listR: true, deepBudget: 0 })), both);
  });

  it('leaving a listing early ends its rclone at once, not at its next write', async () => {
    const target = location('slow', 'models', 'flat');
    let pids: number[] = [];
    let left = 0;
    for await (const line of viaProxy.lines(['lsjson', '--no-modtime', '--no-mimetype', '--', target])) {
      // lsjson prints "[" before it lists anything: rclone now waits for S3 (seconds away), not for us
      assert.equal(line, '[');
      pids = rclonePids(target);
      left = Date.now();
      break;
    }
    const took = Date.now() - left;
    assert.equal(pids.length, 1);
    assert.ok(took < 200, `leaving the loop took ${took} ms`);
    assert.ok((await goneAfter(pids)) < 200, 'rclone is still running');
  });

  it('reaching the limit ends rclone at once while it waits for its next S3 page', async () => {
    const target = location('slow', 'models', 'flat');
    let pids: number[] = [];
    let last = 0;
    const page = await listFolder(viaProxy, target, {
      limit: 100,
      listR: true,
      onEntry: () => {
        last = Date.now();
        if (!pids.length) pids = rclonePids(target);
      },
    });
    const took = Date.now() - last;
    assert.deepEqual([page.entries.length, page.more, pids.length], [100, true, 1]);
    assert.ok(took < 200, `listFolder returned ${took} ms after the last entry`);
    assert.ok((await goneAfter(pids)) < 200, 'rclone is still running');
  });

  it('an abort ends rclone at once while it waits for its next S3 page', async () => {
    const target = location('slow', 'models', 'flat');
    const ac = new AbortController();
    let pids: number[] = [];
    let aborted = 0;
    const pending = listFolder(viaProxy, target, {
      listR: true,
      signal: ac.signal,
      onEntry: () => {
        if (aborted) return;
        pids = rclonePids(target);
        aborted = Date.now();
        ac.abort();
      },
    });
    await assert.rejects(pending, (e) => isRcloneError(e, 'Cancelled'));
    const took = Date.now() - aborted;
    assert.equal(pids.length, 1);
    assert.ok(took < 200, `listFolder failed ${took} ms after the abort`);
    assert.ok((await goneAfter(pids)) < 200, 'rclone is still running');
  });

  it('Load more reads on from where the page ended: one rclone, no S3 page asked for twice', async () => {
    const target = location('s3', 'models', 'flat');
    const listCalls = () => proxy.requests.filter((r) => r.startsWith('GET /models?'));
    const before = listCalls().length;
    let opened = 0;
    const pager = new Pager((o) => {
      opened++;
      return streamFolder(viaProxy, target, { ...o, listR: true });
    });
    try {
      const first = await pager.page(100);
      const second = await pager.page(1100);
      const all = await pager.page(5000);
      assert.deepEqual([first.entries.length, first.more, second.entries.length, second.more], [100, true, 1100, true]);
      assert.deepEqual(second.entries.slice(0, 100), first.entries);
      assert.deepEqual(all.entries.slice(0, 1100), second.entries);
      assert.deepEqual([all.entries.length, all.more], [2001, false]);
      assert.equal(opened, 1, 'one listing for all pages');
      const calls = listCalls().slice(before);
      assert.equal(new Set(calls).size, calls.length, `S3 list requests repeated:\n${calls.join('\n')}`);
    } finally {
      pager.stop();
    }
  });

  it('a stopped or idle pager ends its rclone at once; the next page starts again after what was read', async () => {
    const target = location('slow', 'models', 'flat');
    const names = (entries: Entry[]) => entries.map((e) => e.name);
    const whole = names((await listFolder(box.rclone, location('s3', 'models', 'flat'), { listR: true })).entries);
    const pager = new Pager((o) => streamFolder(viaProxy, target, { ...o, listR: true }), { idleMs: 300 });
    try {
      assert.deepEqual(names((await pager.page(100)).entries), whole.slice(0, 100));
      const parked = rclonePids(target);
      assert.equal(parked.length, 1, 'the listing waits for the next page');
      pager.stop();
      assert.ok((await goneAfter(parked)) < 200, 'a stopped listing left rclone running');
      assert.deepEqual(names((await pager.page(200)).entries), whole.slice(0, 200));
      const idle = rclonePids(target);
      assert.equal(idle.length, 1);
      assert.ok((await goneAfter(idle, 600)) < 600, 'an idle listing left rclone running');
      assert.deepEqual(names((await pager.page(300)).entries), whole.slice(0, 300));
    } finally {
      pager.stop();
    }
  });

  it('a page that takes too long fails with Timeout and ends its rclone', async () => {
    const target = location('slow', 'models', 'flat');
    let pids: number[] = [];
    const pager = new Pager(
      (o) => {
        setTimeout(() => (pids = rclonePids(target)), 100);
        return streamFolder(viaProxy, target, { ...o, listR: true });
      },
      { timeoutMs: 300 },
    );
    await assert.rejects(pager.page(10), (e) => isRcloneError(e, 'Timeout'));
    assert.equal(pids.length, 1);
    assert.ok((await goneAfter(pids)) < 200, 'rclone is still running');
  });
});

describe('listing suite cleanup', () => {
  it('releases a setup stuck halfway at once: the copy is stopped and its temp dir removed', async () => {
    // An endpoint that accepts connections and never answers: an S3 server that hangs.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => void sockets.add(s));
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const dir = tempDir();
    try {
      const configFile = join(dir.path, 'rclone.conf');
      const port = (silent.address() as AddressInfo).port;
      writeFileSync(configFile, s3Remote('s3', `http://127.0.0.1:${port}`), { mode: 0o600 });
      const rclone = await Rclone.locate({ configFile });
      const seedDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith(SEED_PREFIX));
      const earlier = new Set(seedDirs());
      const held = new Held();
      const seeding = seed(held, rclone, 's3:hangs/flat', 2000);
      for (let i = 0; i < 400 && !rcloneRunningWith('s3:hangs/flat'); i++)
        await new Promise((ok) => setTimeout(ok, 25));
      assert.ok(rcloneRunningWith('s3:hangs/flat'), 'the copy did not start');
      const start = Date.now();
      await held.release();
      await assert.rejects(seeding, (e) => isRcloneError(e, 'Cancelled'));
      assert.ok(Date.now() - start < 5_000, `releasing took ${Date.now() - start} ms`);
      assert.equal(rcloneRunningWith('s3:hangs/flat'), false);
      assert.deepEqual(
        seedDirs().filter((n) => !earlier.has(n)),
        [],
      );
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      dir.dispose();
    }
  });
});
