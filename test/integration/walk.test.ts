// What a walk through the editor as a user found (issue 10, part 3), each checked against real
// rclone mounts on real FUSE and the real S3 server: rc ports kept out of VS Code's auto-forwarding,
// the status bar before the first mount and with several mounts, the order Unmount / Remount offer
// mounts in, Show Log at the end of the log, and rows inside a mount. Every mount made here is
// unmounted in `after`; the box may have other rclone mounts (other tools, other runs): the tests
// look only at their own mount points.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { Rclone } from '../../src/core/rclone';
import type { Node } from '../../src/vscode/nodes';
import { boxInfo } from './boxInfo';
import { after, before, describe, it } from 'mocha';
import { api, cacheDir, EXTENSION_ID, ownMounts, ScriptedUi, waitFor, withUi } from './util';

/** The globalState key of the last mount made in the editor (mountState.ts), which the status bar follows. */
const LAST_MOUNT = 'rclone.lastMount';

type Profile = { remote: string; mountPoint: string } & Record<string, unknown>;

const mountOf = (name: string, remote: string, more: Record<string, unknown> = {}): Profile => ({
  remote,
  mountPoint: join(boxInfo().mountRoot, name),
  cacheDir: cacheDir(name),
  ...more,
});

async function mount(profile: Profile): Promise<void> {
  const ui = new ScriptedUi();
  const m = await withUi(ui, () => vscode.commands.executeCommand('rclone.mount', profile));
  assert.ok(m, `mounting ${profile.remote} failed: ${JSON.stringify(ui.notes)}`);
}

/** The tree's row at `s3` › `labels`…, expanding along the way. */
async function row(...path: string[]): Promise<{ node: Node; item: vscode.TreeItem }> {
  const { tree } = (await api()).remotes;
  let node = (await tree.getChildren()).find((n) => n.id === 's3:')!;
  for (let i = 0; i < path.length; i++) {
    const id = `s3:${path.slice(0, i + 1).join('/')}`;
    const next = (await tree.getChildren(node)).find((n) => n.id === id || n.id === `${id}/`);
    if (!next) throw new Error(`no row ${id}`);
    node = next;
  }
  return { node, item: tree.getTreeItem(node) };
}

describe('Found by walking the editor', () => {
  const a = mountOf('walk-a', 's3:other-bucket', { logLevel: 'DEBUG' });
  const b = mountOf('walk-b', 's3:index-tts-data');
  const external = join(boxInfo().mountRoot, 'walk-external');
  let externalPid: number | undefined;
  let lastMountBefore: unknown;

  before(async () => {
    lastMountBefore = (await api()).svc.context.globalState.get(LAST_MOUNT);
  });

  after(async () => {
    const { svc, remotes } = await api();
    for (const m of ownMounts(await svc.registry.refresh()).filter((x) => x.mountPoint.includes('/walk-')))
      await svc.registry.unmount(m.mountPoint, { force: true }).catch(() => svc.registry.repair(m.mountPoint));
    try {
      if (externalPid) process.kill(externalPid, 'SIGTERM'); // still running only if a test failed early
    } catch {
      // it ended with its mount, as it should
    }
    await svc.context.globalState.update(LAST_MOUNT, lastMountBefore);
    remotes.tree.refresh();
  });

  it('with nothing to follow, the status bar shows "$(cloud) Rclone", whose click offers Mount…', async () => {
    const { svc, statusBar } = await api();
    const ours = ownMounts(await svc.registry.refresh()).filter((m) => !m.external);
    assert.deepEqual(ours, [], 'no mount of ours is left by an earlier suite');
    assert.deepEqual(svc.settings.profiles, [], 'no mount profile is set');
    await svc.context.globalState.update(LAST_MOUNT, undefined);
    statusBar.refresh();
    assert.equal(statusBar.item.text, '$(cloud) Rclone');
    assert.equal(statusBar.item.command, 'rclone.statusActions');
    const ui = new ScriptedUi([undefined]);
    await withUi(ui, () => vscode.commands.executeCommand('rclone.statusActions'));
    assert.deepEqual(ui.asked[0]!.items, ['$(plug) Mount…', '$(list-tree) Show Remotes']);
  });

  it('a bucket deleted since it was listed: its row and Go to Path say the same, and Go to Path asks again', async () => {
    const { remotes } = await api();
    const rclone = await Rclone.locate({ configFile: boxInfo().configFile });
    await rclone.run(['mkdir', 's3:walk-gone'], { timeoutMs: 20_000 });
    remotes.tree.refresh();
    const gone = await waitFor('the bucket row', () => row('walk-gone'));
    await rclone.run(['rmdir', 's3:walk-gone'], { timeoutMs: 20_000 });
    const said = 'There is no bucket "walk-gone" on s3.';
    const [error] = await remotes.tree.getChildren(gone.node);
    const item = remotes.tree.getTreeItem(error!);
    assert.equal(item.label, 'No such bucket — Refresh');
    assert.equal(item.command?.command, 'rclone.refresh');
    assert.ok(String(item.tooltip).startsWith(said), String(item.tooltip));

    const ui = new ScriptedUi([undefined]);
    await withUi(ui, async () => {
      await vscode.commands.executeCommand('rclone.goToPath', 's3:walk-gone/cache_hub');
      const note = ui.errors()[0];
      assert.ok(note && note.message.startsWith(said), JSON.stringify(ui.notes));
      // Editing the remote does not fix a mistyped path: typing it again does.
      assert.deepEqual(note.actions, ['Go to Path…', 'Show Log']);
      await ui.press(note.message, 'Go to Path…');
    });
    assert.equal(ui.asked[0]?.kind, 'input');
    assert.equal(ui.asked[0]?.value, 's3:walk-gone/cache_hub', 'the path is in the box, to be corrected');
    remotes.tree.refresh();
  });

  it("rclone's rc port is never auto-forwarded: remote.portsAttributes ignores the mount's command line", async () => {
    const { svc, statusBar } = await api();
    await mount(a);
    assert.equal(statusBar.item.text, '$(cloud) mounted', 'one mount of ours: the text needs no name');
    const pid = svc.registry.find(a.mountPoint)!.pid!;
    // As VS Code reads it to decide what to forward: /proc/<pid>/cmdline, arguments NUL-separated.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const argv = cmdline.split('\0');
    assert.match(argv[argv.indexOf('--rc-addr') + 1]!, /^127\.0\.0\.1:\d+$/, 'its rc port is on its command line');
    const attributes =
      vscode.workspace.getConfiguration('remote').get<Record<string, { onAutoForward?: string }>>('portsAttributes') ??
      {};
    // How VS Code reads each key: a port, a range, host:port, else a regular expression of the command line.
    const actionFor = (commandLine: string) =>
      Object.entries(attributes)
        .filter(([key]) => !/^\d+(-\d+)?$|^[a-z0-9-]+:\d{1,5}$/.test(key) && new RegExp(key).test(commandLine))
        .map(([, v]) => v.onAutoForward);
    assert.deepEqual(actionFor(cmdline), ['ignore'], JSON.stringify(attributes));
    assert.deepEqual(actionFor(cmdline.replace(/\0/g, ' ')), ['ignore'], 'the same command line from ps');
    // An rclone the user runs to serve something (its web GUI, a share) may be forwarded as usual.
    assert.deepEqual(actionFor('rclone\0rcd\0--rc-web-gui\0--rc-addr\x00127.0.0.1:5572'), []);
    assert.deepEqual(actionFor('/usr/bin/rclone\0serve\0http\0--addr\x00127.0.0.1:8080\0s3:bucket'), []);
  });

  it("a row's Show Log opens the mount's log at its last line, not at line 1 of earlier mounts", async () => {
    const { svc } = await api();
    // The DEBUG run above fills the log (every open and read is a few lines); the next mount appends to it.
    for (let i = 0; i < 10; i++) await readFile(join(a.mountPoint, 'readme.txt'));
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', a.mountPoint));
    await mount({ ...a, logLevel: 'INFO' });
    const logFile = svc.registry.find(a.mountPoint)!.logFile!;
    await vscode.commands.executeCommand('rclone.showLog', (await row('other-bucket')).node);
    const editor = await waitFor('the log in an editor', () =>
      vscode.window.activeTextEditor?.document.uri.fsPath === logFile ? vscode.window.activeTextEditor : undefined,
    );
    const last = editor.document.lineCount - 1;
    assert.ok(last > 80, `the log has ${last + 1} lines: too few for line 1 and the end to be apart`);
    assert.equal(editor.selection.active.line, last);
    await waitFor('the last line in view, the first out of it', () =>
      editor.visibleRanges.some((r) => r.contains(new vscode.Position(last, 0)) && r.start.line > 0),
    );
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('with several mounts of ours, the status bar names the one it follows', async () => {
    const { statusBar } = await api();
    await mount(b);
    assert.equal(statusBar.item.text, '$(cloud) walk-b: mounted');
    const tip = (statusBar.item.tooltip as vscode.MarkdownString).value;
    assert.ok(tip.includes(b.mountPoint) && tip.includes('the last mount made in the editor'), tip);
  });

  it('inside a mounted bucket, folders offer no Mount; the bucket row shows a short mount point', async () => {
    const { svc } = await api();
    const inline = (
      vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as {
        contributes: { menus: Record<string, Array<{ command: string; when: string; group: string }>> };
      }
    ).contributes.menus['view/item/context']!.find(
      (m) => m.command === 'rclone.mount' && m.group.startsWith('inline'),
    )!;
    const offersMount = (contextValue: unknown) =>
      new RegExp(/viewItem =~ \/(.*)\/$/.exec(inline.when)![1]!).test(String(contextValue));
    const bucket = (await row('index-tts-data')).item;
    assert.equal(bucket.description, '…/walk-b');
    assert.ok((bucket.tooltip as vscode.MarkdownString).value.includes(`Mounted on \`${b.mountPoint}\``));
    const folder = (await row('index-tts-data', 'cache_hub')).item;
    assert.equal(folder.contextValue, 'folder.inMount');
    assert.equal(offersMount(folder.contextValue), false, inline.when);
    assert.ok((folder.tooltip as vscode.MarkdownString).value.includes(`Inside the mount on \`${b.mountPoint}\``));
    // Unmounted, the folder can be mounted on its own again.
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', b.mountPoint));
    assert.equal(svc.registry.find(b.mountPoint), undefined);
    const alone = (await row('index-tts-data', 'cache_hub')).item;
    assert.equal(alone.contextValue, 'folder');
    assert.equal(offersMount(alone.contextValue), true, inline.when);
    await mount(b); // followed again, for the next test
  });

  it("palette Unmount / Remount list the followed mount first (Enter takes it), then ours, then other tools'", async () => {
    const { svc } = await api();
    await mkdir(external, { recursive: true });
    const rclone = await Rclone.locate({ configFile: boxInfo().configFile });
    // "Another tool": a plain rclone mount the registry has no record of.
    const args = ['mount', '--cache-dir', cacheDir('walk-external'), '--', 's3:other-bucket', external];
    externalPid = rclone.spawnDetached(args).pid;
    await waitFor('the external mount', async () =>
      (await svc.registry.refresh()).some((m) => m.mountPoint === external),
    );
    const remount = new ScriptedUi([undefined]);
    await withUi(remount, () => vscode.commands.executeCommand('rclone.remount'));
    const offered = remount.asked[0]!.items!;
    assert.deepEqual(offered.slice(0, 3), [b.mountPoint, a.mountPoint, 'mounted by other tools'], offered.join(', '));
    assert.ok(offered.indexOf(external) > 2, offered.join(', '));

    const unmount = new ScriptedUi([(asked) => asked.items![0]]); // Enter: the first item
    assert.equal(await withUi(unmount, () => vscode.commands.executeCommand('rclone.unmount')), true);
    const left = (await svc.registry.refresh()).map((m) => m.mountPoint);
    assert.ok(!left.includes(b.mountPoint) && left.includes(a.mountPoint) && left.includes(external), left.join(', '));
    await svc.registry.unmount(external, { force: true });
  });
});
