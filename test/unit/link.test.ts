// Switching ./cache_hub between model versions on a real rclone FUSE mount of a real S3 server:
// atomic for readers in other processes, never destroying a real folder or file in the link's
// place, with a history to roll back, and safe when several processes switch the same link at once.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import {
  checkTargetOnMount,
  linkHistory,
  listVersions,
  relink,
  type RelinkOptions,
  rollback,
} from '../../src/core/link';
import type { Mount } from '../../src/core/mounts';
import { keyOf } from '../../src/core/records';
import { bundleSnippet, runInParallel } from '../helpers/child';
import { mountSuite, waitFor } from '../helpers/mounts';

/** Every top-level folder holds a `.keep` marker (s3rver lists a prefix only one level deep). */
const objects: Record<string, string> = {
  'cache_hub/.keep': '',
  'cache_hub/gpt.pth': 'weights base',
  'cache_hub_v3/.keep': '',
  'cache_hub_v3/gpt.pth': 'weights v3',
  'cache_hub_v23/.keep': '',
  'cache_hub_v23/gpt.pth': 'weights v23',
  'cache_hub_v24/.keep': '',
  'cache_hub_v24/gpt.pth': 'weights v24',
  'cache_hub_v25/.keep': '',
  'cache_hub_v25/gpt.pth': 'weights v25',
  'cache_hub v2 ü/.keep': '',
  'cache_hub v2 ü/gpt.pth': 'weights ü',
  'outputs/.keep': '',
  'cache_hub_notes.txt': 'a file, not a version',
};

/** The versions in natural order: digits as numbers (v3 < v23), a space before an underscore. */
const VERSIONS = ['cache_hub', 'cache_hub v2 ü', 'cache_hub_v3', 'cache_hub_v23', 'cache_hub_v24', 'cache_hub_v25'];

const two = (n: number) => String(n).padStart(2, '0');
const stamp = (d: Date) =>
  `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
/** The backup names `path` would get in this second and the next three (local time). */
const takenBackups = (path: string) =>
  [0, 1, 2, 3].map((s) => `${path}.backup-${stamp(new Date(Date.now() + s * 1_000))}`);

/** `p`, or a failure after `ms`: a test of code that hangs fails instead, and its cleanup still runs. */
async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, fail) => (timer = setTimeout(() => fail(new Error(`no answer in ${ms} ms`)), ms)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('cache_hub links', () => {
  const suite = mountSuite('rdb-link-', objects);

  /** A fresh test dir with the bucket mounted at <dir>/mnt/index-tts-storage and an empty workspace. */
  async function setUp(workspaceName = 'workspace') {
    const dir = suite.fresh();
    const m = await suite.registry.mount({
      remote: 's3:models',
      mountPoint: join(dir, 'mnt', 'index-tts-storage'),
      cacheDir: join(dir, 'cache'),
    });
    assert.equal(m.state, 'mounted');
    const ws = join(dir, workspaceName);
    mkdirSync(ws);
    const stateDir = join(dir, 'state');
    const opts: RelinkOptions = { stateDir, checkTarget: (t) => checkTargetOnMount(t, [m]) };
    const v = (name: string) => join(m.mountPoint, name);
    return { dir, m, root: m.mountPoint, ws, link: join(ws, 'cache_hub'), stateDir, opts, v };
  }

  it('lists the cache_hub folders on the mount in natural order and marks the linked one', async () => {
    const { root, link, opts, v } = await setUp();
    assert.deepEqual(await relink(link, v('cache_hub_v23'), opts), { changed: true });
    assert.equal(readlinkSync(link), v('cache_hub_v23'), 'the link holds the absolute target');

    const versions = await listVersions(root, { link });
    assert.deepEqual(
      versions.map((x) => x.name),
      VERSIONS,
    );
    assert.deepEqual(
      versions.map((x) => x.path),
      VERSIONS.map(v),
    );
    assert.deepEqual(
      versions.filter((x) => x.linked).map((x) => x.name),
      ['cache_hub_v23'],
    );
    // A relative link is resolved against the current folder.
    const relativeLink = relative(process.cwd(), link);
    assert.deepEqual(
      (await listVersions(root, { link: relativeLink })).filter((x) => x.linked).map((x) => x.name),
      ['cache_hub_v23'],
    );
    assert.deepEqual(
      (await listVersions(root, { pattern: 'cache_hub_v2?' })).map((x) => [x.name, x.linked]),
      [
        ['cache_hub_v23', false],
        ['cache_hub_v24', false],
        ['cache_hub_v25', false],
      ],
    );
    assert.deepEqual(await listVersions(root, { pattern: 'nothing*' }), []);
  });

  it('a reader in another process never fails during 1,000 switches between two versions', async (t) => {
    const { dir, link, opts, v, stateDir } = await setUp();
    await relink(link, v('cache_hub_v23'), opts);
    const reader = bundleSnippet(
      dir,
      'reader',
      `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
       const [, , link, stop, started] = process.argv as string[];
       let ok = 0;
       const errors: string[] = [];
       const seen: Record<string, number> = {};
       while (!existsSync(stop!)) {
         try {
           const text = readFileSync(link + '/gpt.pth', 'utf8');
           ok++;
           seen[text] = (seen[text] ?? 0) + 1;
         } catch (e) {
           errors.push((e as Error).message);
         }
         if (ok + errors.length === 1) writeFileSync(started!, '');
       }
       console.log(JSON.stringify({ ok, errors: errors.length, firstErrors: errors.slice(0, 5), seen }));`,
    );
    const stop = join(dir, 'stop');
    const started = join(dir, 'started');
    const child = execa(process.execPath, [reader, link, stop, started], { reject: false, timeout: 110_000 });
    try {
      await waitFor(() => existsSync(started));
      let changed = 0;
      // The file has 120 s in all; failing here, not killed there, leaves time to unmount.
      const t0 = Date.now();
      for (let i = 0; i < 1_000; i++) {
        if (Date.now() - t0 > 75_000) assert.fail(`only ${i} of 1,000 switches in 75 s: the box is too busy`);
        const r = await relink(link, v(i % 2 === 0 ? 'cache_hub_v24' : 'cache_hub_v23'), opts);
        if (r.changed) changed++;
      }
      assert.equal(changed, 1_000);
    } finally {
      writeFileSync(stop, '');
    }
    const out = await child;
    assert.equal(out.exitCode, 0, String(out.stderr));
    const result = JSON.parse(String(out.stdout)) as {
      ok: number;
      errors: number;
      firstErrors: string[];
      seen: Record<string, number>;
    };
    t.diagnostic(`the reader: ${result.ok} reads (${JSON.stringify(result.seen)}), ${result.errors} errors`);
    assert.equal(result.errors, 0, `the reader failed: ${result.firstErrors.join(' | ')}`);
    assert.ok(result.ok > 0, 'the reader read');
    assert.deepEqual(Object.keys(result.seen).sort(), ['weights v23', 'weights v24'], 'it saw both versions');
    assert.equal(readlinkSync(link), v('cache_hub_v23'));
    const history = await linkHistory(link, stateDir);
    assert.equal(history.length, 20, 'at most 20 earlier targets are kept');
    assert.deepEqual(history.slice(0, 2), [v('cache_hub_v24'), v('cache_hub_v23')]);
  });

  it('never deletes a real folder or file in the link’s place; moves it aside only when asked', async () => {
    const { ws, link, opts, v, stateDir } = await setUp();
    mkdirSync(link);
    writeFileSync(join(link, 'local.pth'), 'mine');
    await assert.rejects(
      relink(link, v('cache_hub_v23'), opts),
      (e) => isRcloneError(e, 'LinkInTheWay') && e.message.includes(link) && /left as it is/.test(e.message),
    );
    assert.ok(lstatSync(link).isDirectory(), 'still a real folder');
    assert.equal(readFileSync(join(link, 'local.pth'), 'utf8'), 'mine');
    assert.deepEqual(readdirSync(ws), ['cache_hub'], 'no temp link, no backup');

    // Backups of this second and the next few are someone else's: they are neither replaced nor filled.
    const taken = takenBackups(link);
    for (const t of taken) {
      mkdirSync(t);
      writeFileSync(join(t, 'older.pth'), 'older');
    }
    const moved = await relink(link, v('cache_hub_v23'), { ...opts, moveAside: true });
    assert.equal(moved.changed, true);
    assert.equal(moved.previous, undefined, 'a real folder is no previous target');
    assert.ok(moved.movedAside && taken.some((t) => moved.movedAside === `${t}-2`), `backup name ${moved.movedAside}`);
    assert.deepEqual(readdirSync(moved.movedAside), ['local.pth']);
    assert.equal(readFileSync(join(moved.movedAside, 'local.pth'), 'utf8'), 'mine');
    for (const t of taken) assert.deepEqual(readdirSync(t), ['older.pth']);
    assert.equal(readlinkSync(link), v('cache_hub_v23'));
    assert.equal(readFileSync(join(link, 'gpt.pth'), 'utf8'), 'weights v23');
    assert.deepEqual(await linkHistory(link, stateDir), []);

    // The same for a real file.
    const fileLink = join(ws, 'cache_hub_file');
    writeFileSync(fileLink, 'notes');
    await assert.rejects(relink(fileLink, v('cache_hub_v24'), opts), (e) => isRcloneError(e, 'LinkInTheWay'));
    assert.ok(lstatSync(fileLink).isFile());
    assert.equal(readFileSync(fileLink, 'utf8'), 'notes');
    const takenFiles = takenBackups(fileLink);
    for (const t of takenFiles) writeFileSync(t, 'older');
    const movedFile = await relink(fileLink, v('cache_hub_v24'), { ...opts, moveAside: true });
    assert.ok(
      takenFiles.some((t) => movedFile.movedAside === `${t}-2`),
      `backup name ${movedFile.movedAside}`,
    );
    assert.equal(readFileSync(movedFile.movedAside!, 'utf8'), 'notes');
    for (const t of takenFiles) assert.equal(readFileSync(t, 'utf8'), 'older');
    assert.equal(readlinkSync(fileLink), v('cache_hub_v24'));
    assert.equal(readdirSync(ws).filter((n) => n.endsWith('.relink')).length, 0, 'no temp link left');
  });

  it('rolls back to the previous target, further back each time, then says there is none', async () => {
    const { link, opts, v, stateDir } = await setUp();
    for (const name of ['cache_hub', 'cache_hub_v23', 'cache_hub_v24']) await relink(link, v(name), opts);
    assert.deepEqual(await linkHistory(link, stateDir), [v('cache_hub_v23'), v('cache_hub')], 'newest first');

    assert.deepEqual(await relink(link, `${v('cache_hub_v24')}/`, opts), { changed: false }, 'same target');
    await assert.rejects(relink(link, v('cache_hub_v99'), opts), (e) => isRcloneError(e, 'NotFound'));
    await assert.rejects(relink(link, v('cache_hub_notes.txt'), opts), (e) => isRcloneError(e, 'NotFound'));
    assert.equal(readlinkSync(link), v('cache_hub_v24'), 'a refused switch changes nothing');
    assert.deepEqual(await linkHistory(link, stateDir), [v('cache_hub_v23'), v('cache_hub')]);

    assert.deepEqual(await rollback(link, opts), { target: v('cache_hub_v23'), previous: v('cache_hub_v24') });
    assert.equal(readFileSync(join(link, 'gpt.pth'), 'utf8'), 'weights v23');
    assert.deepEqual(await linkHistory(link, stateDir), [v('cache_hub')]);
    assert.deepEqual(await rollback(link, opts), { target: v('cache_hub'), previous: v('cache_hub_v23') });
    assert.equal(readlinkSync(link), v('cache_hub'));
    await assert.rejects(
      rollback(link, opts),
      (e) => isRcloneError(e, 'NotFound') && e.message.includes(link) && /Switch it/.test(e.fix),
    );
    assert.equal(readlinkSync(link), v('cache_hub'));

    // A corrupt or foreign history file is no history; an entry equal to the current target is skipped.
    const file = join(stateDir, 'links', `${keyOf(link)}.json`);
    writeFileSync(file, '{"link": "/else');
    assert.deepEqual(await linkHistory(link, stateDir), []);
    writeFileSync(file, JSON.stringify({ link: '/somewhere/else', previous: [v('cache_hub_v3')] }));
    assert.deepEqual(await linkHistory(link, stateDir), []);
    writeFileSync(file, JSON.stringify({ link, previous: [v('cache_hub'), v('cache_hub_v3')] }));
    assert.deepEqual(await rollback(link, opts), { target: v('cache_hub_v3'), previous: v('cache_hub') });
    assert.deepEqual(await linkHistory(link, stateDir), []);
    assert.equal(lstatSync(file).mode & 0o777, 0o600);
  });

  it('checks that a target is a folder on a live mount, looking at the mount state before any stat', async (t) => {
    const { ws, m, root, v } = await setUp();
    assert.equal(await checkTargetOnMount(v('cache_hub_v23'), [m]), undefined);
    assert.equal(await checkTargetOnMount(`${root}/outputs/../cache_hub_v23/`, [m]), undefined);

    await assert.rejects(
      checkTargetOnMount(ws, [m]),
      (e) => isRcloneError(e, 'NotMounted') && e.message.includes(`No mount holds ${ws}`),
    );
    // A mount point is a prefix only at a '/' boundary: <mnt>-old is another folder.
    mkdirSync(`${root}-old/cache_hub`, { recursive: true });
    await assert.rejects(checkTargetOnMount(`${root}-old/cache_hub`, [m]), (e) => isRcloneError(e, 'NotMounted'));
    await assert.rejects(
      checkTargetOnMount(v('cache_hub_v99'), [m]),
      (e) => isRcloneError(e, 'NotFound') && e.message.includes(v('cache_hub_v99')),
    );
    await assert.rejects(checkTargetOnMount(v('cache_hub_notes.txt'), [m]), (e) => isRcloneError(e, 'NotFound'));
    // The innermost mount decides.
    const rootStale = { mountPoint: '/', state: 'stale' as const, remote: 'other:' };
    assert.equal(await checkTargetOnMount(v('cache_hub_v23'), [rootStale, m]), undefined);

    // Stale: refused although the folder is there (a stat would have found it).
    const stale: Pick<Mount, 'mountPoint' | 'state' | 'remote'> = {
      mountPoint: root,
      state: 'stale',
      remote: 's3:models',
    };
    await assert.rejects(
      checkTargetOnMount(v('cache_hub_v23'), [stale]),
      (e) => isRcloneError(e, 'NotMounted') && /stale/.test(e.message) && e.message.includes(root),
    );

    // A really stuck mount: its rclone stopped, a stat there would never return.
    process.kill(m.pid!, 'SIGSTOP');
    t.after(() => process.kill(m.pid!, 'SIGCONT'));
    // The stop is delivered asynchronously: the registry sees it once the process is stopped.
    let stuck: Mount | undefined;
    await waitFor(async () => {
      stuck = (await suite.registry.refresh()).find((x) => x.mountPoint === root);
      return stuck?.state === 'not answering';
    }, 10_000);
    const t0 = Date.now();
    await assert.rejects(
      within(checkTargetOnMount(v('cache_hub_v24'), [stuck!]), 3_000),
      (e) => isRcloneError(e, 'NotMounted') && /not answering/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 1_000, `refused at once (${Date.now() - t0} ms)`);
  });

  it('works with spaces, unicode and shell metacharacters in the link and the target', async () => {
    const { root, ws, stateDir, opts, v } = await setUp(`work space ü $(touch pwned); echo 'x' & |`);
    const link = join(ws, 'cache hub ü');
    // Given relative to the current folder: resolved once, the history is the absolute link's.
    const rel = relative(process.cwd(), link);
    assert.deepEqual(await relink(rel, v('cache_hub v2 ü'), opts), { changed: true });
    assert.equal(readlinkSync(link), v('cache_hub v2 ü'));
    assert.equal(readFileSync(join(link, 'gpt.pth'), 'utf8'), 'weights ü');
    assert.deepEqual(
      (await listVersions(root, { link })).filter((x) => x.linked).map((x) => x.name),
      ['cache_hub v2 ü'],
    );
    assert.deepEqual(await relink(link, v('cache_hub_v23'), opts), {
      changed: true,
      previous: v('cache_hub v2 ü'),
    });
    assert.deepEqual(await linkHistory(rel, stateDir), [v('cache_hub v2 ü')]);
    assert.deepEqual(await rollback(rel, opts), { target: v('cache_hub v2 ü'), previous: v('cache_hub_v23') });
    assert.equal(readFileSync(join(link, 'gpt.pth'), 'utf8'), 'weights ü');
    assert.deepEqual(readdirSync(ws), ['cache hub ü'], 'nothing else appeared (no shell ran)');
    assert.equal(existsSync(join(process.cwd(), 'pwned')), false);
  });

  it('6 processes switching the same link at once leave a valid link and history, and no temp links', async () => {
    const { dir, ws, link, stateDir, v } = await setUp();
    const targets = VERSIONS.map(v);
    // A link someone made by hand, relative: its target is read as an absolute path.
    symlinkSync(join('..', 'mnt', 'index-tts-storage', 'cache_hub'), link);
    const script = bundleSnippet(
      dir,
      'switcher',
      `import { relink } from './src/core/link';
       const targets = ${JSON.stringify(targets)};
       const i = Number(process.argv[2]);
       async function main() {
         let changed = 0;
         for (let k = 1; k <= 3; k++) {
           const r = await relink(${JSON.stringify(link)}, targets[(i + k) % targets.length]!, { stateDir: ${JSON.stringify(stateDir)} });
           if (r.changed) changed++;
         }
         console.log(changed);
       }
       main().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const outs = await runInParallel(script, 6);
    const changes = outs.reduce((sum, out) => sum + Number(out.trim()), 0);

    assert.ok(lstatSync(link).isSymbolicLink());
    const current = readlinkSync(link);
    assert.ok(targets.includes(current), current);
    const file = join(stateDir, 'links', `${keyOf(link)}.json`);
    const h = JSON.parse(readFileSync(file, 'utf8')) as { link: string; previous: string[] };
    assert.equal(h.link, link);
    // Every change pushed the target it replaced, none was lost (18 switches at most: under the cap).
    assert.equal(h.previous.length, changes, `${changes} changes`);
    for (const p of h.previous) assert.ok(targets.includes(p), p);
    assert.notEqual(h.previous[0], current, 'the newest entry is where the link pointed before');
    for (let k = 1; k < h.previous.length; k++) assert.notEqual(h.previous[k], h.previous[k - 1]);
    assert.equal(
      h.previous.at(-1),
      v('cache_hub'),
      'the first change pushed the hand-made relative link, made absolute',
    );
    assert.deepEqual(await linkHistory(link, stateDir), h.previous);
    assert.deepEqual(readdirSync(ws), ['cache_hub'], 'no temp links left');
    assert.deepEqual(
      readdirSync(join(stateDir, 'locks')).filter((n) => n.endsWith('.lock')),
      [],
      'no lock left',
    );
  });
});
