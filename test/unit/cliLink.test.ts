// `rclone-devbox versions`, `link` and `rollback` on a real FUSE mount of a real S3 server, run in a
// temp workspace (the default link is ./cache_hub there): natural order and the linked version
// marked, link / link again / rollback, a real folder in the link's place refused and moved aside
// on request, names with spaces and non-ASCII letters, targets off the mount refused, and the
// README's link examples as written.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, cli, cliEnv, type CliRun } from '../helpers/cli';
import { type Box, putObjects, ROOT, SECRET_KEY, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp } from '../helpers/mounts';

/** The `node dist/cli.js …` lines of the README CLI section's sh block that switches links. */
function linkExamples(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## The headless CLI\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => m[1]!.split('\n').filter((l) => l.startsWith('node dist/cli.js ')))
    .find((lines) => lines.some((l) => /^node dist\/cli\.js (?:link|rollback)\b/.test(l)));
  assert.ok(block, "the README's CLI section has an sh block with link examples");
  return block;
}

describe('rclone-devbox versions, link, rollback', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  let mnt: string;
  let ws: string;
  let n = 0;
  before(async () => {
    box = await startBox(['index-tts-data']);
    // s3rver lists a prefix one level deep only: a marker in every top-level folder.
    await putObjects(box, 'index-tts-data', {
      'cache_hub/.keep': '',
      'cache_hub/gpt.pth': 'weights',
      'cache_hub_v2/.keep': '',
      'cache_hub_v10/.keep': '',
      'cache_hub_v23/.keep': '',
      'cache_hub_v24/.keep': '',
      'cache_hub v2 ü/.keep': '',
      'other/.keep': '',
      'a-file-not-a-folder': 'x',
    });
    work = tempDir('rdb-clilink-');
    env = cliEnv(box, work.path);
    mnt = join(work.path, 'mnt');
    const m = await cli(['mount', 's3:index-tts-data', mnt, '--cache-dir', join(work.path, 'vfs')], env);
    assert.equal(m.code, 0, m.stderr);
  });
  after(async () => {
    if (work) await cleanUp([work.path]);
    await box?.dispose();
    work?.dispose();
  });
  // Each test its own workspace (and so its own ./cache_hub and history).
  const workspace = () => {
    ws = join(work.path, `ws${++n}`);
    mkdirSync(ws);
    return ws;
  };

  /** The CLI run in the workspace (the default --as is ./cache_hub there). */
  async function run(args: string[], cwd = ws): Promise<CliRun> {
    const t0 = performance.now();
    const r = await execa(process.execPath, [CLI, ...args], {
      cwd,
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    const out = { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - t0 };
    assert.ok(!`${out.stdout}${out.stderr}`.includes(SECRET_KEY), `a secret reached the output of ${args.join(' ')}`);
    return out;
  }
  const v = (name: string) => join(mnt, name);

  it('versions: natural order, only the pattern, the linked one marked with *', async () => {
    workspace();
    const names = ['cache_hub', 'cache_hub v2 ü', 'cache_hub_v2', 'cache_hub_v10', 'cache_hub_v23', 'cache_hub_v24'];
    const width = Math.max(...names.map((x) => x.length));
    const line = (name: string, linked = false) => `${linked ? '*' : ' '} ${name.padEnd(width)}  ${v(name)}`;
    const unlinked = await run(['versions', mnt]);
    assert.equal(unlinked.code, 0, unlinked.stderr);
    assert.equal(unlinked.stderr, '');
    assert.equal(unlinked.stdout, names.map((x) => line(x)).join('\n'));
    const l = await run(['link', v('cache_hub_v10')]);
    assert.equal(l.code, 0, l.stderr);
    const linked = await run(['versions', mnt]);
    assert.equal(linked.stdout, names.map((x) => line(x, x === 'cache_hub_v10')).join('\n'));
    const json = JSON.parse((await run(['versions', mnt, '--json'])).stdout) as Array<{
      name: string;
      linked: boolean;
    }>;
    assert.deepEqual(
      json.map((x) => x.name),
      names,
    );
    assert.deepEqual(
      json.filter((x) => x.linked).map((x) => x.name),
      ['cache_hub_v10'],
    );
    const some = await run(['versions', mnt, '--pattern', 'cache_hub_v?']);
    assert.equal(some.stdout, `  cache_hub_v2  ${v('cache_hub_v2')}`);
    const none = await run(['versions', mnt, '--pattern', 'model_v*']);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, '');
    assert.equal(none.stderr.trim(), `No folder in ${mnt} matches "model_v*".`);
    const bad = await run(['versions', mnt, '--pattern', 'a/b']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^versions: --pattern "a\/b" matches folder names, without "\/"/);
  });

  it('link, link again (no change), rollback: the link target changes and comes back', async () => {
    workspace();
    const link = join(ws, 'cache_hub');
    const first = await run(['link', v('cache_hub_v23')]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `./cache_hub → ${v('cache_hub_v23')}`);
    assert.equal(readlinkSync(link), v('cache_hub_v23'));
    const second = await run(['link', v('cache_hub_v24')]);
    assert.equal(second.stdout, `./cache_hub → ${v('cache_hub_v24')} (was ${v('cache_hub_v23')})`);
    assert.equal(readlinkSync(link), v('cache_hub_v24'));
    const same = await run(['link', v('cache_hub_v24')]);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stdout, `./cache_hub already points at ${v('cache_hub_v24')}`);
    // A warm-up through the link warms the version it points at.
    const warm = await run(['prewarm', './cache_hub']);
    assert.equal(warm.code, 0, warm.stderr);
    assert.match(warm.stdout, new RegExp(`^Warmed cache_hub_v24 on ${mnt}: `));
    const back = await run(['rollback']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, `./cache_hub → ${v('cache_hub_v23')} (was ${v('cache_hub_v24')})`);
    assert.equal(readlinkSync(link), v('cache_hub_v23'));
    const further = await run(['rollback']);
    assert.equal(further.code, 1);
    assert.match(
      further.stderr,
      /has no earlier target to go back to\.\nPoint it at a version first \(`rclone-devbox link/,
    );
    assert.equal(readlinkSync(link), v('cache_hub_v23'), 'a refused rollback changes nothing');
    // Relative targets are resolved against the current folder.
    const rel = await run(['link', 'cache_hub_v2', '--as', join(ws, 'rel')], mnt);
    assert.equal(rel.code, 0, rel.stderr);
    assert.equal(readlinkSync(join(ws, 'rel')), v('cache_hub_v2'));
  });

  it('a real folder at ./cache_hub is refused and left intact; --move-aside moves it to a named backup', async () => {
    workspace();
    const link = join(ws, 'cache_hub');
    mkdirSync(link);
    writeFileSync(join(link, 'mine.txt'), 'keep me');
    const refused = await run(['link', v('cache_hub_v23')]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^.*\/cache_hub is a real folder, not a link; it was left as it is\.\n/);
    assert.match(refused.stderr, /run again with --move-aside to move it to a named backup/);
    assert.doesNotMatch(refused.stderr, /Rclone Dev Box|switch again/);
    assert.ok(lstatSync(link).isDirectory());
    assert.equal(readFileSync(join(link, 'mine.txt'), 'utf8'), 'keep me');
    // rollback has no --move-aside: its fix says what it can do.
    const noBack = await run(['rollback']);
    assert.equal(noBack.code, 1);
    assert.match(
      noBack.stderr,
      /is a real folder, not a link.*\nMove it away yourself \(e\.g\. mv .*\), then roll back again/,
    );
    const moved = await run(['link', v('cache_hub_v23'), '--move-aside']);
    assert.equal(moved.code, 0, moved.stderr);
    const backup = readdirSync(ws).find((x) => x.startsWith('cache_hub.backup-'));
    assert.ok(backup, readdirSync(ws).join(', '));
    assert.equal(
      moved.stdout,
      `./cache_hub → ${v('cache_hub_v23')} (the folder that was there is now ${join(ws, backup)})`,
    );
    assert.equal(readlinkSync(link), v('cache_hub_v23'));
    assert.equal(readFileSync(join(ws, backup, 'mine.txt'), 'utf8'), 'keep me');
  });

  it('names with spaces and non-ASCII letters: folder "cache_hub v2 ü", link "./cache hub ü"', async () => {
    workspace();
    const as = './cache hub ü';
    const l = await run(['link', v('cache_hub v2 ü'), '--as', as]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout, `${as} → ${v('cache_hub v2 ü')}`);
    assert.equal(readlinkSync(join(ws, 'cache hub ü')), v('cache_hub v2 ü'));
    const listed = await run(['versions', mnt, '--as', as, '--pattern', 'cache_hub*ü']);
    assert.equal(listed.stdout, `* cache_hub v2 ü  ${v('cache_hub v2 ü')}`);
    const next = await run(['link', v('cache_hub'), '--as', as]);
    assert.equal(next.stdout, `${as} → ${v('cache_hub')} (was ${v('cache_hub v2 ü')})`);
    const back = await run(['rollback', '--as', as]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout, `${as} → ${v('cache_hub v2 ü')} (was ${v('cache_hub')})`);
    assert.equal(readlinkSync(join(ws, 'cache hub ü')), v('cache_hub v2 ü'));
    assert.equal(existsSync(join(ws, 'cache_hub')), false, 'the default link was not touched');
  });

  it('a target off every mount, missing, or a file is refused (exit 1) and nothing is made', async () => {
    workspace();
    const local = join(ws, 'local_v1');
    mkdirSync(local);
    const off = await run(['link', local]);
    assert.equal(off.code, 1);
    assert.match(
      off.stderr,
      /^No mount holds .*local_v1 \(mounted: .*\); nothing was changed\.\nMount the bucket first \(`rclone-devbox mount/,
    );
    const missing = await run(['link', v('cache_hub_v99')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cache_hub_v99 was not found; nothing was changed\./);
    const file = await run(['link', v('a-file-not-a-folder')]);
    assert.equal(file.code, 1);
    assert.match(file.stderr, /is a file, not a folder; nothing was changed\./);
    for (const r of [off, missing, file]) assert.equal(r.stdout, '');
    assert.equal(existsSync(join(ws, 'cache_hub')), false);
    const noAs = await run(['link', v('cache_hub'), '--as', 'somewhere/']);
    assert.equal(noAs.code, 2);
    assert.match(noAs.stderr, /^link: --as "somewhere\/" names a folder; give the link itself/);
  });

  it("the README's link examples run as written (the mount point moved into a temp folder)", async () => {
    workspace();
    const lines = linkExamples();
    assert.ok(lines.length >= 3, lines.join('\n'));
    for (const line of lines) {
      const argv = line
        .replace(/\s+#.*$/, '')
        .split(/\s+/)
        .slice(2)
        .map((a) => a.replace('/mnt/index-tts-storage', mnt));
      const r = await run(argv);
      assert.equal(r.code, 0, `${line}\n${r.stderr}`);
      assert.notEqual(r.stdout, '', line);
    }
  });
});
