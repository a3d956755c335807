import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import {
  hasListR,
  listBuckets,
  listFolder,
  location,
  type Page,
  parseLsjsonLine,
  streamFolder,
} from '../../src/core/listing';
import { Rclone } from '../../src/core/rclone';
import { type Box, putObjects, s3Remote, seedFolder, startBox, tempDir } from '../helpers/fixtures';
import { type Proxy, startProxy } from '../helpers/proxy';

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

/** Is a process whose argv contains `needle` still alive? (read from /proc, no process spawned) */
function rcloneRunningWith(needle: string): boolean {
  return readdirSync('/proc').some((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[0]?.endsWith('rclone') === true && argv.includes(needle);
    } catch {
      return false;
    }
  });
}

describe('listing', () => {
  let box: Box;
  before(async () => {
    box = await startBox(['models', 'datasets']);
    await putObjects(box, 'models', {
      'cache_hub/.keep': '',
      'cache_hub/gpt.pth': 'x'.repeat(1234),
      'cache_hub/config.yaml': 'a: 1\n',
      'cache_hub/bpe/.keep': '',
      ...Object.fromEntries(WEIRD.map((n) => [`weird/${n}`, n])),
    });
    await seedFolder(box, 'models', 'flat', 2000);
  });
  after(() => box.dispose());

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
  let box: Box;
  let proxy: Proxy;
  let viaProxy: Rclone;
  before(async () => {
    box = await startBox(['models']);
    await seedFolder(box, 'models', 'flat', 2000);
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
    });
    proxy = await startProxy(box.s3.port);
    const file = join(box.dir, 'proxied.conf');
    writeFileSync(file, s3Remote('s3', proxy.endpoint), { mode: 0o600 });
    viaProxy = await Rclone.locate({ configFile: file });
  });
  after(async () => {
    await proxy.stop();
    await box.dispose();
  });

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
});
