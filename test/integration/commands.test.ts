// Every command runs through one wrapper: whatever it throws reaches the user as a notification
// (never a stack trace), and the caller never gets a rejection (menus and buttons do not await).
// A mount whose rclone is alive but stopped shows as "not answering" and is never "repaired".
// Real failures only: bad arguments, a mount point under a regular file, a SIGSTOPped rclone.
import * as assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { FIXES } from '../../src/core/errors';
import { boxInfo } from './boxInfo';
import { after, before, describe, it } from 'mocha';
import { api, cacheDir, ScriptedUi, waitFor, withUi } from './util';

/** Lets Node report a rejection nobody handled (it does so once the microtasks have run). */
const settled = () => new Promise((ok) => setTimeout(ok, 50));

describe('Commands turn any failure into a notification', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  before(() => void process.on('unhandledRejection', onUnhandled));
  after(() => void process.off('unhandledRejection', onUnhandled));

  it('a command that throws a plain Error (a mount point that is not a path) shows it and resolves', async () => {
    const ui = new ScriptedUi();
    const result = await withUi(ui, () => vscode.commands.executeCommand('rclone.showLog', { mountPoint: 42 }));
    await settled();
    assert.equal(result, undefined);
    assert.equal(ui.errors().length, 1, JSON.stringify(ui.notes));
    const [error] = ui.errors();
    assert.match(error!.message, /^Rclone Dev Box: .*must be of type string/);
    assert.doesNotMatch(error!.message, /\n\s+at /, 'no stack trace');
    assert.deepEqual(error!.actions, ['Show Log']);
    assert.deepEqual(unhandled, []);
  });

  it('Mount… on a mount point under a regular file shows an error naming it and resolves', async () => {
    const file = join(boxInfo().stateDir, 'commands-not-a-folder');
    await writeFile(file, 'a file, not a folder\n');
    const mountPoint = join(file, 'mnt');
    const ui = new ScriptedUi();
    const profile = { remote: 's3:other-bucket', mountPoint, cacheDir: cacheDir('commands') };
    const result = await withUi(ui, () => vscode.commands.executeCommand('rclone.mount', profile));
    await settled();
    assert.equal(result, undefined);
    assert.equal(ui.errors().length, 1, JSON.stringify(ui.notes));
    assert.ok(ui.errors()[0]!.message.includes(mountPoint), ui.errors()[0]!.message);
    assert.match(ui.errors()[0]!.message, /a part of it is a file/);
    assert.equal((await api()).svc.registry.find(mountPoint), undefined);
    assert.deepEqual(unhandled, []);
  });
});

describe('A mount that does not answer', () => {
  let mountPoint: string;
  let pid: number | undefined;

  after(async () => {
    const { svc } = await api();
    if (!mountPoint) return;
    if (pid) {
      process.kill(pid, 'SIGCONT');
      // unmount refuses a mount that does not answer: wait until the woken rclone does
      await waitFor('the mount to answer again', async () => {
        await svc.registry.refresh();
        return svc.registry.find(mountPoint)?.state !== 'not answering';
      });
    }
    await svc.registry.unmount(mountPoint, { force: true }).catch(async (e: Error) => {
      await svc.registry.repair(mountPoint).catch((again: Error) => {
        throw new Error(`unmount: ${e.message}; repair: ${again.message}`);
      });
    });
  });

  it('shows "not answering" on its row, offers no Repair, and Remount leaves its rclone running', async () => {
    const { svc, remotes } = await api();
    mountPoint = join(boxInfo().mountRoot, 'commands-other-bucket');
    const profile = { remote: 's3:other-bucket', mountPoint, cacheDir: cacheDir('commands') };
    const mounted = new ScriptedUi();
    await withUi(mounted, () => vscode.commands.executeCommand('rclone.mount', profile));
    pid = svc.registry.find(mountPoint)?.pid;
    assert.ok(pid, JSON.stringify(mounted.notes));

    process.kill(pid, 'SIGSTOP');
    await waitFor('the state "not answering"', async () => {
      await svc.registry.refresh();
      return svc.registry.find(mountPoint)?.state === 'not answering';
    });
    const s3 = (await remotes.tree.getChildren()).find((n) => n.id === 's3:')!;
    const bucket = (await remotes.tree.getChildren(s3)).find((n) => n.id === 's3:other-bucket')!;
    const item = remotes.tree.getTreeItem(bucket);
    assert.equal(item.contextValue, 'bucket.notAnswering', 'menus: Show Log, no Unmount or Repair');
    assert.equal(item.description, '…/commands-other-bucket · not answering');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'watch');
    assert.ok((item.tooltip as vscode.MarkdownString).value.includes(FIXES.NotAnswering));

    const ui = new ScriptedUi();
    const result = await withUi(ui, () => vscode.commands.executeCommand('rclone.remount', mountPoint));
    assert.equal(result, undefined);
    assert.equal(ui.errors().length, 1, JSON.stringify(ui.notes));
    assert.match(ui.errors()[0]!.message, /does not answer/);
    process.kill(pid, 0); // still alive: nothing written to it is lost
    assert.equal(svc.registry.find(mountPoint)?.state, 'not answering');
  });
});
