// Install rclone from the editor: "rclone.path" names a stand-in rclone that prints
// "rclone v1.53.3" (Ubuntu 22.04's apt version; a stand-in, named as such), so the view says rclone
// is too old and the error offers Install rclone. Its button downloads from a local stand-in for
// downloads.rclone.org (test/helpers/releaseSite.ts: a release-shaped archive of this machine's
// rclone, its SHA256SUMS and version.txt), installs into the extension's storage, points
// "rclone.path" at it, and the tree works. The stand-in, the settings and the installed binary are
// put back or removed in `after`.
import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { after, before, describe, it } from 'mocha';
import { type ReleaseSite, startReleaseSite } from '../helpers/releaseSite';
import { api, ScriptedUi, setSetting, waitFor, withUi } from './util';

describe('Install rclone (a too-old rclone, then the button)', function () {
  this.timeout(120_000);
  let site: ReleaseSite;
  let dir: string;
  let oldRclone: string;
  let putBack: Array<() => Promise<void>> = [];

  before(async () => {
    site = await startReleaseSite();
    dir = mkdtempSync(join(tmpdir(), 'rdb-old-rclone-'));
    oldRclone = join(dir, 'rclone');
    writeFileSync(oldRclone, '#!/bin/sh\necho "rclone v1.53.3-DEV"\n');
    chmodSync(oldRclone, 0o755);
    putBack.push(await setSetting('installBaseUrl', site.base, vscode.ConfigurationTarget.Global));
    putBack.push(await setSetting('path', oldRclone, vscode.ConfigurationTarget.Global));
  });

  after(async () => {
    const { svc } = await api();
    for (const undo of putBack.reverse()) await undo();
    putBack = [];
    rmSync(join(svc.context.globalStorageUri.fsPath, 'bin'), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    await site?.close();
    await waitFor('the PATH rclone again', async () => (await svc.rclone()).path !== oldRclone);
  });

  it('says rclone is too old, and its Install rclone button gets a working tree', async () => {
    const { svc, remotes } = await api();
    await waitFor('the tree to say rclone is missing or too old', async () => {
      await remotes.tree.getChildren();
      return svc.viewState === 'missing';
    });
    const ui = new ScriptedUi();
    await withUi(ui, async () => {
      await vscode.commands.executeCommand('rclone.addRemote'); // needs rclone: says why not
      const error = ui.errors()[0];
      assert.ok(error, JSON.stringify(ui.notes));
      assert.match(error.message, /rclone 1\.53\.3 is installed at .*; Rclone Dev Box needs 1\.60\.0 or newer/);
      assert.deepEqual(error.actions.slice(0, 2), ['Install rclone', 'Set rclone Path']);
      await ui.press(error.message, 'Install rclone');
    });
    const installed = join(svc.context.globalStorageUri.fsPath, 'bin', 'rclone');
    assert.equal(vscode.workspace.getConfiguration('rclone').get('path'), installed);
    assert.equal(statSync(installed).mode & 0o777, 0o755);
    assert.ok(
      ui.notes.some(
        (n) => n.message === `Installed rclone ${site.version} in ${installed}; "rclone.path" now points at it.`,
      ),
      JSON.stringify(ui.notes),
    );
    assert.equal(
      readFileSync(oldRclone, 'utf8'),
      '#!/bin/sh\necho "rclone v1.53.3-DEV"\n',
      'the old rclone is as it was',
    );
    assert.ok(existsSync(oldRclone));
    // The tree works with the installed rclone.
    await waitFor('the remotes in the tree', async () =>
      (await remotes.tree.getChildren()).some((n) => n.id === 's3:'),
    );
    assert.equal(svc.viewState, 'ready');
    assert.equal((await svc.rclone()).path, installed);
  });
});
