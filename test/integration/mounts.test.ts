// Mount commands and the status bar, with real rclone mounts on real FUSE against the S3 server.
// Every mount made here is unmounted in `after` (and the runner lazily unmounts anything left
// under the box's mount root, should the window die). The box may have other rclone mounts (other
// tools and users, even of index-tts-data): the tests look only at their own mount points.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import * as vscode from 'vscode';
import { listFolder } from '../../src/core/listing';
import { Rclone } from '../../src/core/rclone';
import type { Node } from '../../src/vscode/nodes';
import { boxInfo } from './boxInfo';
import { after, before, describe, it } from 'mocha';
import { api, cacheDir, ownMounts, ScriptedUi, setSetting, waitFor, withUi } from './util';

const REMOTE = 's3:index-tts-data';
/**
 * The profile and auto-mount are the user's own settings, as on a dev box: a workspace's would wait
 * for approval (approval.test.ts), and an approval kept in globalState would leak into that suite.
 */
const USER = vscode.ConfigurationTarget.Global;

async function bucketRow(name: string): Promise<{ node: Node; item: vscode.TreeItem }> {
  const { tree } = (await api()).remotes;
  const s3 = (await tree.getChildren()).find((n) => n.id === 's3:')!;
  const node = (await tree.getChildren(s3)).find((n) => n.id === `s3:${name}`)!;
  return { node, item: tree.getTreeItem(node) };
}

describe('Mounting from the editor', () => {
  const restore: Array<() => Promise<void>> = [];
  let mountPoint: string;
  const statusTexts: string[] = [];

  before(async () => {
    mountPoint = join(boxInfo().mountRoot, 'index-tts-storage');
    const { statusBar, svc } = await api();
    // Every text the indicator shows, in order (its own listeners run before this one).
    svc.onDidChangeBusy(() => statusTexts.push(statusBar.item.text));
    svc.registry.onDidChange(() => statusTexts.push(statusBar.item.text));
  });

  after(async () => {
    const { svc } = await api();
    await svc.registry.refresh();
    for (const m of ownMounts(svc.registry.mounts))
      await svc.registry.unmount(m.mountPoint, { force: true }).catch(() => svc.registry.repair(m.mountPoint));
    for (const r of restore.reverse()) await r();
  });

  it('the status bar follows the configured mount profile: not mounted', async () => {
    restore.push(
      await setSetting(
        'mounts',
        [{ remote: REMOTE, mountPoint, cacheMode: 'writes', cacheDir: cacheDir('index-tts-storage') }],
        USER,
      ),
    );
    const { statusBar } = await api();
    await waitFor('the indicator to show the profile', () => statusBar.item.text === '$(circle-slash) not mounted');
    assert.match(
      (statusBar.item.tooltip as vscode.MarkdownString).value,
      new RegExp(`${REMOTE}.*${mountPoint.replace(/[.]/g, '\\.')}`),
    );
    assert.equal(statusBar.item.command, 'rclone.statusActions');
  });

  it('Mount… mounts the profile with a progress, and the indicator goes mounting… → mounted', async () => {
    const ui = new ScriptedUi();
    const { statusBar, svc } = await api();
    statusTexts.length = 0;
    const mount = await withUi(ui, () => vscode.commands.executeCommand('rclone.mount', REMOTE));
    assert.ok(mount, `mount failed: ${JSON.stringify(ui.notes)}`);
    assert.equal(ui.asked.length, 0, 'a profile needs no question');
    assert.ok(statusTexts.includes('$(sync~spin) mounting…'), `indicator texts: ${statusTexts.join(' | ')}`);
    // the profile's warm list (cache_hub) may be running in the background: "warming…", then "mounted"
    await waitFor('the indicator to say mounted', () => statusBar.item.text === '$(cloud) mounted' || undefined);
    assert.equal(await readFile(join(mountPoint, 'cache_hub', 'gpt.pth'), 'utf8'), 'g'.repeat(4096));
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted');
    // The mount's own note; a workspace without ./cache_hub may also be offered the link (models.test.ts).
    const own = ui.notes.filter((n) => !n.message.includes('does not exist yet'));
    assert.deepEqual(
      own.map((n) => n.level),
      ['info'],
    );
    assert.deepEqual(own[0]!.actions, ['Open in Terminal', 'Reveal in Explorer']);
  });

  it('the tree shows the mount point on the bucket row, with its own icon and menu', async () => {
    const { item } = await bucketRow('index-tts-data');
    assert.equal(item.description, '…/index-tts-storage', 'a short mount point: the full path is in the tooltip');
    assert.ok((item.tooltip as vscode.MarkdownString).value.includes(`Mounted on \`${mountPoint}\``));
    assert.equal(item.contextValue, 'bucket.mounted');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'pass-filled');
    const file = (await (await api()).remotes.tree.getChildren((await bucketRow('index-tts-data')).node)).find(
      (n) => n.id === `${REMOTE}/webui.py`,
    )!;
    const fileItem = (await api()).remotes.tree.getTreeItem(file);
    assert.equal(fileItem.command?.command, 'vscode.open', 'a file under a mount opens from the mount');
  });

  it('shows uploads pending, and Unmount waits for them: the file arrives in the bucket', async () => {
    const { statusBar, svc } = await api();
    await writeFile(join(mountPoint, 'written-in-editor.txt'), 'new weights');
    await waitFor(
      'the indicator to count the upload',
      async () => {
        await svc.registry.refresh();
        return statusBar.item.text === '$(cloud-upload) 1 uploading';
      },
      4_000,
    );
    const ui = new ScriptedUi();
    const done = await withUi(ui, () => vscode.commands.executeCommand('rclone.unmount', mountPoint));
    assert.equal(done, true, JSON.stringify(ui.notes));
    assert.equal(statusBar.item.text, '$(circle-slash) not mounted');
    const rclone = await Rclone.locate({ configFile: boxInfo().configFile });
    const page = await listFolder(rclone, REMOTE, { timeoutMs: 20_000 });
    assert.ok(
      page.entries.some((e) => e.name === 'written-in-editor.txt'),
      'the file written before unmounting was uploaded',
    );
    assert.equal(svc.registry.find(mountPoint), undefined);
  });

  it('a killed rclone shows as stale (warning), and Remount / Repair brings the mount back', async () => {
    const { statusBar, svc } = await api();
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.mount', REMOTE));
    const pid = svc.registry.find(mountPoint)?.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor('the stale state', async () => {
      await svc.registry.refresh();
      return statusBar.item.text === '$(warning) stale';
    });
    assert.ok(statusBar.item.backgroundColor instanceof vscode.ThemeColor);
    assert.equal((statusBar.item.backgroundColor as unknown as { id: string }).id, 'statusBarItem.warningBackground');
    const row = await bucketRow('index-tts-data');
    assert.equal(row.item.contextValue, 'bucket.stale');
    const ui = new ScriptedUi();
    const again = await withUi(ui, () => vscode.commands.executeCommand('rclone.remount', mountPoint));
    assert.ok(again, JSON.stringify(ui.notes));
    // a remounted mount is cold: its warm list runs again ("warming…"), then "mounted"
    await waitFor('the indicator to say mounted', () => statusBar.item.text === '$(cloud) mounted' || undefined);
    assert.ok((await readdir(mountPoint)).includes('cache_hub'));
  });

  it('clicking the indicator offers the next actions for the state, and runs the one picked', async () => {
    const { statusBar } = await api();
    const ui = new ScriptedUi(['$(debug-disconnect) Unmount']);
    await withUi(ui, () => vscode.commands.executeCommand(statusBar.item.command as string));
    assert.deepEqual(ui.asked[0]!.items, [
      '$(terminal) Open in Terminal',
      '$(folder-opened) Reveal in Explorer',
      '$(rocket) Bring Up Workspace',
      '$(flame) Prewarm…',
      '$(link) Link Model Version…',
      '$(discard) Roll Back Model Link',
      '$(debug-disconnect) Unmount',
      '$(debug-restart) Remount',
      '$(output) Show Log',
      '$(list-tree) Show Remotes',
    ]);
    assert.equal(statusBar.item.text, '$(circle-slash) not mounted');
    const again = new ScriptedUi(['$(plug) Mount']);
    await withUi(again, () => vscode.commands.executeCommand(statusBar.item.command as string));
    assert.deepEqual(again.asked[0]!.items, [
      '$(plug) Mount',
      '$(rocket) Bring Up Workspace',
      '$(list-tree) Show Remotes',
    ]);
    // the profile's warm list (cache_hub) runs in the background after the mount: "warming", then "mounted"
    await waitFor('the indicator to say mounted', () => statusBar.item.text === '$(cloud) mounted' || undefined);
  });

  it('Open Mount in Terminal opens a terminal in the mount point', async () => {
    await vscode.commands.executeCommand('rclone.openTerminal', mountPoint);
    const terminal = await waitFor('the terminal', () =>
      vscode.window.terminals.find((t) => t.name === 'rclone: index-tts-storage'),
    );
    assert.equal((terminal.creationOptions as vscode.TerminalOptions).cwd, mountPoint);
    terminal.dispose();
  });

  it("Show Log opens the mount's rclone log, which holds no secret", async () => {
    const { svc } = await api();
    await vscode.commands.executeCommand('rclone.showLog', mountPoint);
    const editor = await waitFor('the log in an editor', () => vscode.window.activeTextEditor);
    const logFile = svc.registry.find(mountPoint)?.logFile;
    assert.equal(editor.document.uri.fsPath, logFile);
    const text = editor.document.getText();
    assert.match(text, /index-tts-data/);
    assert.ok(!text.includes('S3RVER'), 'the access key or secret appears in the mount log');
    // The record of this mount (one file per mount point), not whichever record comes first.
    const records = join(boxInfo().stateDir, 'rclone-devbox', 'mounts');
    const own = (
      await Promise.all(
        (await readdir(records))
          .filter((n) => n.endsWith('.json'))
          .map(
            async (n) => JSON.parse(await readFile(join(records, n), 'utf8')) as { mountPoint: string; pass: string },
          ),
      )
    ).find((r) => r.mountPoint === mountPoint);
    assert.ok(own?.pass, `no record with an rc password for ${mountPoint} in ${records}`);
    assert.ok(!text.includes(own.pass), 'the rc password appears in the mount log');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('Mount… from the palette asks what and where, proposing <mountRoot>/<bucket>', async () => {
    const ui = new ScriptedUi(['s3:other-bucket', (asked) => asked.value]);
    const mount = await withUi(ui, () => vscode.commands.executeCommand('rclone.mount'));
    assert.ok(mount, JSON.stringify(ui.notes));
    const [what, where] = ui.asked;
    assert.ok(
      what!.items!.includes(REMOTE) && what!.items!.includes('s3:other-bucket'),
      `offered: ${what!.items!.join(', ')}`,
    );
    assert.equal(
      where!.value,
      join(boxInfo().mountRoot, 'other-bucket'),
      JSON.stringify(vscode.workspace.getConfiguration('rclone').inspect('mountRoot')),
    );
    assert.ok((await readdir(join(boxInfo().mountRoot, 'other-bucket'))).includes('readme.txt'));
    await withUi(new ScriptedUi(), () =>
      vscode.commands.executeCommand('rclone.unmount', join(boxInfo().mountRoot, 'other-bucket')),
    );
  });

  it('a failed mount says why, with actions, and leaves nothing behind', async () => {
    const ui = new ScriptedUi();
    const target = join(boxInfo().mountRoot, 'typo');
    const mount = await withUi(ui, () =>
      vscode.commands.executeCommand('rclone.mount', { remote: 's3:index-tts-dta', mountPoint: target }),
    );
    assert.equal(mount, undefined);
    const [error] = ui.errors();
    assert.ok(error, 'no error was shown');
    assert.match(error.message, /There is no bucket "index-tts-dta"/);
    assert.deepEqual(error.actions, ['Show Log'], 'editing the remote does not fix a mistyped bucket');
    assert.equal(existsSync(target), false, 'the mount point we created was removed');
    assert.equal((await api()).svc.registry.find(target), undefined);
  });

  it('Unmount refuses an external mount without counting its uploads, and offers "Unmount Anyway"', async () => {
    const ui = new ScriptedUi();
    const { svc } = await api();
    // rclone started by "another tool": a plain `rclone mount` the registry has no record of.
    const rclone = await Rclone.locate({ configFile: boxInfo().configFile });
    const external = join(boxInfo().mountRoot, 'external');
    await mkdir(external, { recursive: true });
    const child = rclone.spawnDetached([
      'mount',
      '--vfs-cache-mode',
      'writes',
      '--cache-dir',
      cacheDir('external'),
      '--',
      's3:other-bucket',
      external,
    ]);
    try {
      await waitFor(
        'the external mount',
        async () => (await svc.registry.refresh()).find((m) => m.mountPoint === external)?.state === 'mounted',
      );
      assert.equal(svc.registry.find(external)?.external, true);
      const done = await withUi(ui, () => vscode.commands.executeCommand('rclone.unmount', external));
      assert.equal(done, false);
      assert.match(ui.errors()[0]!.message, /mounted by another tool/);
      assert.ok(ui.errors()[0]!.actions.includes('Unmount Anyway'));
      await withUi(ui, () => ui.press(ui.errors()[0]!.message, 'Unmount Anyway'));
      await waitFor(
        'the external mount to go',
        async () => !(await svc.registry.refresh()).some((m) => m.mountPoint === external),
      );
    } finally {
      try {
        process.kill(child.pid, 'SIGTERM'); // still running only if the test failed early
      } catch {
        // it ended with its mount, as it should
      }
    }
  });

  it('auto-mount mounts the profiles not mounted yet; unmount-on-exit unmounts what this window mounted', async () => {
    const { mounts, svc } = await api();
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', mountPoint));
    assert.equal(svc.registry.find(mountPoint), undefined);
    await mounts.autoMount();
    assert.equal(svc.registry.find(mountPoint), undefined, 'auto-mount is off by default');
    restore.push(await setSetting('autoMount', true, USER), await setSetting('unmountOnExit', true, USER));
    await withUi(new ScriptedUi(), () => mounts.autoMount());
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted');
    await mounts.unmountStarted(); // what deactivate() runs
    assert.equal(
      (await svc.registry.refresh()).find((m) => m.mountPoint === mountPoint),
      undefined,
    );
  });

  it('unmount-on-exit leaves a mount the boot-time CLI made, even after Mount… was run on it here', async () => {
    const { mounts, svc } = await api();
    restore.push(await setSetting('unmountOnExit', true, USER));
    const cli = join(vscode.extensions.getExtension('rclone-devbox.rclone-devbox')!.extensionPath, 'dist', 'cli.js');
    const env = { ...process.env, XDG_STATE_HOME: boxInfo().stateDir, RCLONE_CONFIG: boxInfo().configFile };
    await execa(process.execPath, [cli, 'mount', REMOTE, mountPoint, '--cache-dir', cacheDir('boot-cli')], { env });
    try {
      const ui = new ScriptedUi();
      const m = (await withUi(ui, () =>
        vscode.commands.executeCommand('rclone.mount', { remote: REMOTE, mountPoint }),
      )) as { started: boolean } | undefined;
      assert.equal(m?.started, false, 'found mounted, not started here');
      await mounts.unmountStarted(); // what deactivate() runs
      assert.equal((await svc.registry.refresh()).find((x) => x.mountPoint === mountPoint)?.state, 'mounted');
    } finally {
      await execa(process.execPath, [cli, 'unmount', mountPoint], { env, reject: false });
    }
  });
});
