// Model versions and prewarming, with real rclone mounts on real FUSE against the S3 server: the
// "Model versions" group of the tree, Link Model Version… / Roll Back on the workspace's ./cache_hub
// (a real symlink in the box's workspace), Prewarm and Prewarm Content from the palette and from
// tree rows, the status bar while and after warming, and the offer to link after a mount.
// Every mount made here is unmounted in `after`, and whatever the tests put at ./cache_hub (a link,
// a folder, its backups) is removed after each test; the link's history and the status bar's
// followed mount are put back. The box may have other rclone mounts: only ours are looked at.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { checkTargetOnMount, inspectLink } from '../../src/core/link';
import { keyOf } from '../../src/core/records';
import { isRcloneError } from '../../src/core/errors';
import type { PrewarmResult } from '../../src/core/prewarm';
// Types only: the suites are bundled apart from the extension, so its classes are not these (no instanceof).
import type { Node, VersionNode, VersionsNode } from '../../src/vscode/nodes';
import { boxInfo } from './boxInfo';
import { after, afterEach, before, describe, it } from 'mocha';
import { api, type Asked, cacheDir, type Note, ScriptedUi, setSetting, waitFor, withUi } from './util';

const REMOTE = 's3:index-tts-data';
/** The globalState key of the last mount made in the editor (mountState.ts), which the status bar follows. */
const LAST_MOUNT = 'rclone.lastMount';
const OFFER = /does not exist yet\. Link it to a model version on /;

type Profile = { remote: string; mountPoint: string } & Record<string, unknown>;

const profileOf = (name: string, more: Record<string, unknown> = {}): Profile => ({
  remote: REMOTE,
  mountPoint: join(boxInfo().mountRoot, name),
  cacheDir: cacheDir(name),
  // No warm list unless a test asks for one: a background warm would race the warms under test.
  warm: [],
  ...more,
});

const labelOf = (item: vscode.TreeItem) => (typeof item.label === 'string' ? item.label : (item.label?.label ?? ''));

/** The workspace's model link: <workspace>/cache_hub. */
const linkPath = () => join(boxInfo().workspace, 'cache_hub');

/** Waits until `ui` recorded a note matching `message`. */
const noteOf = (ui: ScriptedUi, message: RegExp, what = String(message)): Promise<Note> =>
  waitFor(`a notification ${what} (notes: ${JSON.stringify(ui.notes)})`, () =>
    ui.notes.find((n) => message.test(n.message)),
  );

/**
 * Mounts `profile` through Mount…; with no link in the workspace, also waits for the offer to link
 * that follows a mount, so that it lands in this scripted UI and not in a later test's.
 */
async function mountHere(profile: Profile): Promise<ScriptedUi> {
  const ui = new ScriptedUi();
  const offered = (await inspectLink(linkPath())).kind === 'missing';
  await withUi(ui, async () => {
    const m = await vscode.commands.executeCommand('rclone.mount', profile);
    assert.ok(m, `mounting ${profile.mountPoint} failed: ${JSON.stringify(ui.notes)}`);
    if (offered) await noteOf(ui, OFFER, 'offering to link');
  });
  return ui;
}

/** The rows under the tree's s3 › index-tts-data. */
async function bucketChildren(): Promise<{ bucket: Node; children: Node[] }> {
  const { tree } = (await api()).remotes;
  const s3 = (await tree.getChildren()).find((n) => n.id === 's3:');
  assert.ok(s3, 'no row s3');
  const bucket = (await tree.getChildren(s3)).find((n) => n.id === REMOTE);
  assert.ok(bucket, `no row ${REMOTE}`);
  return { bucket, children: await tree.getChildren(bucket) };
}

/** The "Model versions" group under the bucket row (its first child), and its rows as drawn now. */
async function versionRows(): Promise<{
  group: VersionsNode;
  rows: Array<{ node: VersionNode; item: vscode.TreeItem; label: string }>;
}> {
  const { tree } = (await api()).remotes;
  const { children } = await bucketChildren();
  const group = children[0] as VersionsNode | undefined;
  assert.ok(
    group?.kind === 'versions',
    `the first row is not "Model versions": ${children.map((n) => labelOf(tree.getTreeItem(n))).join(', ')}`,
  );
  const rows = (await tree.getChildren(group)).map((node) => {
    const n = node as VersionNode;
    assert.equal(n.kind, 'version', `not a version row: ${n.id}`);
    const item = tree.getTreeItem(n);
    return { node: n, item, label: labelOf(item) };
  });
  return { group, rows };
}

async function versionRow(name: string): Promise<{ node: VersionNode; item: vscode.TreeItem }> {
  const { rows } = await versionRows();
  const row = rows.find((r) => r.label === name);
  assert.ok(row, `no version row ${name}: ${rows.map((r) => r.label).join(', ')}`);
  return row;
}

const tooltipOf = async () => ((await api()).statusBar.item.tooltip as vscode.MarkdownString).value;

describe('Model versions and prewarm', () => {
  const writes = profileOf('models-writes', { cacheMode: 'writes' });
  const full = profileOf('models-full', { cacheMode: 'full', warm: ['cache_hub', 'not-in-this-bucket'] });
  const offered = join(boxInfo().mountRoot, 'models-offer');
  const notMounted = join(boxInfo().stateDir, 'models-not-mounted', 'cache_hub_v9');
  const ourMounts = [writes.mountPoint, full.mountPoint, offered];
  let lastMountBefore: unknown;
  let historyFile: string;
  let historyBefore: string | undefined;
  let workspaceBefore: Set<string>;

  before(async () => {
    const { svc } = await api();
    // What `after` puts back, read first: it runs even when the checks below fail.
    historyFile = join(svc.registry.stateDir, 'links', `${keyOf(linkPath())}.json`);
    historyBefore = await readFile(historyFile, 'utf8').catch(() => undefined);
    lastMountBefore = svc.context.globalState.get(LAST_MOUNT);
    workspaceBefore = new Set(await readdir(boxInfo().workspace));
    assert.equal(svc.linkPath(), linkPath(), 'the link is <workspace>/cache_hub');
    const there = await inspectLink(linkPath());
    assert.equal(there.kind, 'missing', `${linkPath()} exists before the suite: not ours to change`);
    await mountHere(writes);
  });

  /** Whatever a test put at ./cache_hub (only the suite's own: nothing was there before it). */
  afterEach(async () => {
    const link = linkPath();
    const info = await inspectLink(link);
    if (info.kind === 'symlink') await unlink(link);
    else if (info.kind !== 'missing') await rm(link, { recursive: true, force: true }); // a real folder a test made
    for (const name of await readdir(boxInfo().workspace))
      if (name.startsWith('cache_hub.backup-') && !workspaceBefore.has(name))
        await rm(join(boxInfo().workspace, name), { recursive: true, force: true });
  });

  after(async () => {
    const { svc, remotes } = await api();
    for (const m of await svc.registry.refresh())
      if (ourMounts.includes(m.mountPoint))
        await svc.registry.unmount(m.mountPoint, { force: true }).catch(() => svc.registry.repair(m.mountPoint));
    if (historyBefore === undefined) await rm(historyFile, { force: true });
    else await writeFile(historyFile, historyBefore);
    for (const mp of ourMounts) await rm(join(svc.registry.stateDir, 'warm', `${keyOf(mp)}.json`), { force: true });
    await rm(join(boxInfo().stateDir, 'models-not-mounted'), { recursive: true, force: true });
    await svc.context.globalState.update(LAST_MOUNT, lastMountBefore);
    await svc.models.refresh();
    remotes.tree.refresh();
  });

  it('Prewarm… from the palette: asks which folder, shows "warming" in the status bar, then how long it stays warm', async () => {
    const { svc, statusBar } = await api();
    const texts: string[] = [];
    // The indicator's own listener runs first: its text is the new one when this one runs.
    const listening = svc.onDidChangeBusy(() => texts.push(statusBar.item.text));
    const answer = (asked: Asked) =>
      asked.title === `Warm what on ${writes.mountPoint}?` ? 'cache_hub' : writes.mountPoint;
    // Which mount is asked only when the box has other live mounts: the same answer serves both.
    const ui = new ScriptedUi([answer, answer]);
    let result: PrewarmResult | undefined;
    try {
      result = await withUi(ui, () => vscode.commands.executeCommand<PrewarmResult | undefined>('rclone.prewarm'));
    } finally {
      listening.dispose();
    }
    assert.ok(result, JSON.stringify(ui.notes));
    const folders = ui.asked.find((a) => a.title === `Warm what on ${writes.mountPoint}?`);
    assert.deepEqual(folders?.items, ['cache_hub', 'cache_hub_v23', '$(root-folder) The whole mount']);
    assert.equal(result.metadata.way, 'rc', 'a mount of ours is warmed through its own rc, not walked');
    assert.ok(
      texts.some((t) => /^\$\(sync~spin\) (models-writes: )?warming/.test(t)),
      `indicator texts: ${texts.join(' | ')}`,
    );
    assert.match(statusBar.item.text, /^\$\(cloud\) (models-writes: )?mounted$/, 'back to mounted');

    const warm = svc.models.warmthOf(writes.mountPoint);
    const hub = warm.find((w) => w.path === 'cache_hub');
    assert.ok(hub, JSON.stringify(warm));
    assert.ok(hub.until > Date.now() + 3_600_000, `warm until ${new Date(hub.until).toISOString()}: the 1000h default`);
    assert.ok((await tooltipOf()).includes('Warm: `cache_hub` (listings kept until '), await tooltipOf());
    assert.deepEqual(ui.errors(), []);
    const summary = ui.notes.find((n) => n.message.startsWith('Warmed '));
    assert.ok(summary, JSON.stringify(ui.notes));
    assert.match(
      summary.message,
      /^Warmed cache_hub: \d+ files in \d+ folders listed in \d+\.\d s\. Listings stay warm until /,
    );
  });

  it('Prewarm from tree rows: a version row and the bucket row warm that folder and the whole mount', async () => {
    const { svc, statusBar } = await api();
    const v23 = (await versionRow('cache_hub_v23')).node;
    const { bucket } = await bucketChildren();
    assert.equal(bucket.kind, 'bucket');
    const texts: string[] = [];
    const listening = svc.onDidChangeBusy(() => texts.push(statusBar.item.text));
    const ui = new ScriptedUi();
    try {
      await withUi(ui, async () => {
        assert.ok(await vscode.commands.executeCommand('rclone.prewarm', v23), JSON.stringify(ui.notes));
        assert.ok(await vscode.commands.executeCommand('rclone.prewarm', bucket), JSON.stringify(ui.notes));
      });
    } finally {
      listening.dispose();
    }
    assert.equal(ui.asked.length, 0, 'a row needs no question');
    assert.ok(texts.filter((t) => /warming/.test(t)).length >= 2, `indicator texts: ${texts.join(' | ')}`);
    assert.deepEqual(
      ui.notes.map((n) => n.message.slice(0, n.message.indexOf(':', 8))),
      ['Warmed cache_hub_v23', `Warmed ${writes.mountPoint}`],
    );
    const warm = svc.models.warmthOf(writes.mountPoint);
    // The earlier warm of the same rclone is kept; each lasts the mount's --dir-cache-time.
    assert.deepEqual(
      warm.map((w) => w.path),
      ['', 'cache_hub', 'cache_hub_v23'],
    );
    assert.ok(warm.every((w) => w.until > Date.now()));
    const tip = await tooltipOf();
    for (const p of ['/', 'cache_hub', 'cache_hub_v23']) assert.ok(tip.includes(`Warm: \`${p}\` (listings kept`), tip);
  });

  it('the mounted bucket row shows "Model versions" first, then the versions in natural order', async () => {
    const { remotes } = await api();
    const { children } = await bucketChildren();
    const labels = children.map((n) => labelOf(remotes.tree.getTreeItem(n)));
    // The group first, then the bucket's own listing (other suites may have added files to it).
    assert.equal(labels[0], 'Model versions', labels.join(', '));
    assert.deepEqual(labels.slice(1, 3), ['cache_hub', 'cache_hub_v23'], labels.join(', '));
    assert.ok(labels.includes('webui.py'), labels.join(', '));
    const { group, rows } = await versionRows();
    assert.equal(group.mountPoint, writes.mountPoint);
    const groupItem = remotes.tree.getTreeItem(group);
    assert.equal(groupItem.contextValue, 'versions');
    assert.equal(groupItem.description, undefined, 'nothing is linked yet');
    assert.deepEqual(
      rows.map((r) => [r.label, r.item.contextValue, r.item.description, r.node.path]),
      [
        ['cache_hub', 'version', undefined, join(writes.mountPoint, 'cache_hub')],
        ['cache_hub_v23', 'version', undefined, join(writes.mountPoint, 'cache_hub_v23')],
      ],
    );
  });

  it('Link on version rows switches ./cache_hub (a symlink), the row says so; Roll Back returns to the previous one', async () => {
    const { svc, remotes } = await api();
    const link = linkPath();
    const ui = new ScriptedUi();
    await withUi(ui, async () => {
      await vscode.commands.executeCommand('rclone.relink', (await versionRow('cache_hub')).node);
      assert.equal(await readlink(link), join(writes.mountPoint, 'cache_hub'), JSON.stringify(ui.notes));
      await vscode.commands.executeCommand('rclone.relink', (await versionRow('cache_hub_v23')).node);
    });
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readlink(link), join(writes.mountPoint, 'cache_hub_v23'));
    assert.equal(await readFile(join(link, 'gpt.pth'), 'utf8'), 'G'.repeat(4096), 'the app reads v23 through the link');
    assert.deepEqual(ui.errors(), []);
    const switched = ui.notes.at(-1)!;
    assert.equal(switched.message, `./cache_hub → ${join(writes.mountPoint, 'cache_hub_v23')} (was cache_hub).`);
    assert.deepEqual(switched.actions, ['Roll Back']);

    const v23 = await versionRow('cache_hub_v23');
    assert.equal(v23.item.contextValue, 'version.linked');
    assert.equal(v23.item.description, '← ./cache_hub');
    assert.equal((v23.item.iconPath as vscode.ThemeIcon).id, 'link');
    assert.equal((await versionRow('cache_hub')).item.contextValue, 'version');
    assert.equal(remotes.tree.getTreeItem((await versionRows()).group).description, 'linked: cache_hub_v23');
    assert.equal(svc.models.linkedIn(writes.mountPoint), 'cache_hub_v23');
    assert.ok((await tooltipOf()).includes('Model link: `./cache_hub` → `cache_hub_v23`'), await tooltipOf());

    const back = new ScriptedUi();
    const target = await withUi(back, () => vscode.commands.executeCommand('rclone.rollback'));
    assert.equal(target, join(writes.mountPoint, 'cache_hub'), JSON.stringify(back.notes));
    assert.equal(await readlink(link), join(writes.mountPoint, 'cache_hub'));
    assert.deepEqual(
      back.notes.map((n) => n.message),
      [`./cache_hub → ${join(writes.mountPoint, 'cache_hub')} (rolled back from cache_hub_v23).`],
    );
    assert.equal((await versionRow('cache_hub')).item.contextValue, 'version.linked');
    assert.equal((await versionRow('cache_hub_v23')).item.contextValue, 'version');
    assert.ok((await tooltipOf()).includes('Model link: `./cache_hub` → `cache_hub`'), await tooltipOf());
  });

  it('rclone.modelLink set to models/cache_hub: the rows and the status bar follow the new link at once', async () => {
    const { svc, remotes } = await api();
    const folder = join(boxInfo().workspace, 'models');
    const nested = join(folder, 'cache_hub');
    assert.equal(existsSync(folder), false, `${folder} exists before the test`);
    const nestedHistory = join(svc.registry.stateDir, 'links', `${keyOf(nested)}.json`);
    assert.equal(existsSync(nestedHistory), false);
    const v23 = (await versionRow('cache_hub_v23')).node;
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.relink', v23));
    assert.equal(svc.models.linkedIn(writes.mountPoint), 'cache_hub_v23');
    const putBack = await setSetting('modelLink', 'models/cache_hub');
    try {
      assert.equal(svc.linkPath(), nested);
      // ./models/cache_hub does not exist yet: nothing is linked any more, wherever it is shown.
      await waitFor('the model state to read the new link', () => svc.models.link?.link === nested, 5_000);
      assert.equal(svc.models.linkedIn(writes.mountPoint), undefined);
      assert.ok(!(await tooltipOf()).includes('Model link:'), await tooltipOf());
      const { group, rows } = await versionRows();
      assert.equal(remotes.tree.getTreeItem(group).description, undefined);
      assert.deepEqual(
        rows.map((r) => r.item.contextValue),
        ['version', 'version'],
      );

      const ui = new ScriptedUi();
      const hub = (await versionRow('cache_hub')).node;
      await withUi(ui, () => vscode.commands.executeCommand('rclone.relink', hub));
      assert.equal(await readlink(nested), hub.path, JSON.stringify(ui.notes));
      assert.equal(await readlink(linkPath()), v23.path, 'the link of the old setting is left as it is');
      assert.equal(ui.notes.at(-1)?.message, `./models/cache_hub → ${hub.path}.`);
      const row = await versionRow('cache_hub');
      assert.equal(row.item.contextValue, 'version.linked');
      assert.equal(row.item.description, '← ./models/cache_hub');
      assert.ok((await tooltipOf()).includes('Model link: `./models/cache_hub` → `cache_hub`'), await tooltipOf());
    } finally {
      await putBack();
      if ((await inspectLink(nested)).kind === 'symlink') await unlink(nested);
      await rm(folder, { recursive: true, force: true });
      await rm(nestedHistory, { force: true });
    }
    await waitFor('the model state to read ./cache_hub again', () => svc.models.link?.link === linkPath(), 5_000);
  });

  it('a real folder at ./cache_hub: Link asks first; refused, the folder stays; accepted, it is moved aside and linked', async () => {
    const link = linkPath();
    await mkdir(link);
    await writeFile(join(link, 'own-weights.pth'), 'mine');
    const v23 = (await versionRow('cache_hub_v23')).node;

    const refuse = new ScriptedUi([false]);
    const none = await withUi(refuse, () => vscode.commands.executeCommand('rclone.relink', v23));
    assert.equal(none, undefined);
    assert.deepEqual(
      refuse.asked.map((a) => [a.kind, a.title, a.items]),
      [['confirm', './cache_hub is a real folder, not a link.', ['Move Aside and Link']]],
    );
    assert.ok((await lstat(link)).isDirectory(), 'the folder is still there, not a link');
    assert.equal(await readFile(join(link, 'own-weights.pth'), 'utf8'), 'mine');
    assert.deepEqual(
      (await readdir(boxInfo().workspace)).filter((n) => n.startsWith('cache_hub.backup-')),
      [],
      'nothing was moved',
    );
    assert.deepEqual(refuse.errors(), []);

    const accept = new ScriptedUi([true]);
    const linked = await withUi(accept, () => vscode.commands.executeCommand('rclone.relink', v23));
    assert.equal(linked, v23.path, JSON.stringify(accept.notes));
    assert.equal(await readlink(link), v23.path);
    const backups = (await readdir(boxInfo().workspace)).filter((n) => n.startsWith('cache_hub.backup-'));
    assert.equal(backups.length, 1, backups.join(', '));
    assert.match(backups[0]!, /^cache_hub\.backup-\d{8}-\d{6}$/);
    assert.equal(await readFile(join(boxInfo().workspace, backups[0]!, 'own-weights.pth'), 'utf8'), 'mine');
    assert.ok(
      accept.notes.at(-1)!.message.endsWith(`The folder that was there is now ${backups[0]}.`),
      accept.notes.at(-1)!.message,
    );
  });

  it('Link to a folder on no live mount: the NotMounted error, and nothing at ./cache_hub', async () => {
    const { svc } = await api();
    await mkdir(notMounted, { recursive: true }); // a real folder: refused for where it is, not for being missing
    const expected = await checkTargetOnMount(notMounted, await svc.registry.refresh()).then(
      () => assert.fail(`${notMounted} passed the check`),
      (e: unknown) => e,
    );
    assert.ok(isRcloneError(expected, 'NotMounted'), String(expected));
    const ui = new ScriptedUi();
    const result = await withUi(ui, () => vscode.commands.executeCommand('rclone.relink', notMounted));
    assert.equal(result, undefined);
    assert.equal(ui.errors().length, 1, JSON.stringify(ui.notes));
    assert.equal(ui.errors()[0]!.message, `${expected.message} ${expected.fix}`);
    assert.match(ui.errors()[0]!.message, /^No mount holds .*models-not-mounted\/cache_hub_v9/);
    assert.equal((await inspectLink(linkPath())).kind, 'missing');
    assert.equal(existsSync(linkPath()), false);
  });

  it('Prewarm Content on a writes-mode mount: an error offering "Remount in Full Mode"', async () => {
    const ui = new ScriptedUi();
    const result = await withUi(ui, () =>
      vscode.commands.executeCommand('rclone.prewarmContent', join(writes.mountPoint, 'cache_hub')),
    );
    assert.equal(result, undefined);
    const [error] = ui.errors();
    assert.ok(error, JSON.stringify(ui.notes));
    assert.match(error.message, /is mounted with cache mode "writes"/);
    assert.deepEqual(error.actions, ['Remount in Full Mode', 'Show Log']);
  });

  it('a full-mode mount: its warm list is warmed after the mount; Prewarm Content caches the bytes', async () => {
    const { svc } = await api();
    await mountHere(full);
    // The profile's warm list, in the background: the folder the bucket has, the other one skipped.
    await waitFor(
      'the warm list to be warmed',
      () => !svc.busy.has(full.mountPoint) && svc.models.warmthOf(full.mountPoint).length > 0,
    );
    assert.deepEqual(
      svc.models.warmthOf(full.mountPoint).map((w) => w.path),
      ['cache_hub'],
    );
    const ui = new ScriptedUi();
    const result = await withUi(ui, () =>
      vscode.commands.executeCommand<PrewarmResult | undefined>(
        'rclone.prewarmContent',
        join(full.mountPoint, 'cache_hub_v23'),
      ),
    );
    assert.ok(result?.content, JSON.stringify(ui.notes));
    assert.equal(result.content.bytes, 4096);
    assert.deepEqual(ui.errors(), []);
    const summary = ui.notes.find((n) => n.message.startsWith('Warmed '));
    assert.ok(summary, JSON.stringify(ui.notes));
    assert.match(
      summary.message,
      /^Warmed cache_hub_v23: .* listed in .*; 4\.0 KB of content cached( \([^)]*\))?\. Listings stay warm until /,
    );
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', full.mountPoint));
    assert.equal(svc.registry.find(full.mountPoint), undefined);
  });

  it('"Remount in Full Mode" remounts the writes-mode mount with cache mode full and warms the content', async () => {
    const { svc } = await api();
    const pid = svc.registry.find(writes.mountPoint)?.pid;
    const ui = new ScriptedUi();
    await withUi(ui, async () => {
      await vscode.commands.executeCommand('rclone.prewarmContent', join(writes.mountPoint, 'cache_hub'));
      const [error] = ui.errors();
      assert.ok(error, JSON.stringify(ui.notes));
      await ui.press(error.message, 'Remount in Full Mode');
      // the offer to link follows the remount (nothing is at ./cache_hub): let it land here
      await noteOf(ui, OFFER, 'offering to link');
    });
    const m = svc.registry.find(writes.mountPoint);
    assert.equal(m?.state, 'mounted');
    assert.notEqual(m.pid, pid, 'a new rclone');
    assert.equal(m.profile?.cacheMode, 'full');
    const summary = ui.notes.find((n) => n.message.startsWith('Warmed '));
    assert.ok(summary, JSON.stringify(ui.notes));
    assert.match(
      summary.message,
      /^Warmed cache_hub: .* listed in .*; 4\.0 KB of content cached( \([^)]*\))?\. Listings stay warm until /,
    );
  });

  it('after Mount… from the palette in a workspace without ./cache_hub, a notification offers to link it', async () => {
    const { svc } = await api();
    assert.equal((await inspectLink(linkPath())).kind, 'missing');
    const ui = new ScriptedUi([REMOTE, offered]);
    try {
      await withUi(ui, async () => {
        const m = await vscode.commands.executeCommand('rclone.mount');
        assert.ok(m, JSON.stringify(ui.notes));
        const offer = await noteOf(ui, OFFER, 'offering to link');
        assert.equal(offer.message, `./cache_hub does not exist yet. Link it to a model version on ${offered}?`);
        assert.deepEqual(offer.actions, ['Link to cache_hub', 'Link to cache_hub_v23']);
        await ui.press(offer.message, 'Link to cache_hub');
      });
      assert.equal(await readlink(linkPath()), join(offered, 'cache_hub'), JSON.stringify(ui.notes));
      assert.equal(await readFile(join(linkPath(), 'gpt.pth'), 'utf8'), 'g'.repeat(4096));
      assert.deepEqual(ui.errors(), []);
    } finally {
      if (svc.registry.find(offered))
        await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', offered));
    }
  });
});
