// Smoke suite: the extension is there, activates from its view, and sees what the runner set up.
// The real suites live next to this file; this one only proves the machinery works.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { boxInfo } from './boxInfo';
import { describe, it } from 'mocha';

const EXTENSION_ID = 'rclone-devbox.rclone-devbox';

/** "pid argv…" of this extension host's child processes, read from /proc. */
function childProcesses(): string[] {
  return readdirSync('/proc').flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === process.pid
        ? [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')}`]
        : [];
    } catch {
      return [];
    }
  });
}

describe('smoke', () => {
  it('the extension under development is present', () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is not installed in this window`);
  });

  it('activation spawns no process (rclone is found on first use)', async () => {
    const ext = vscode.extensions.getExtension<{ svc: { viewState?: string } }>(EXTENSION_ID)!;
    const before = childProcesses();
    const api = await ext.activate();
    const spawned = childProcesses().filter((p) => !before.includes(p));
    assert.deepEqual(
      spawned.filter((p) => p.includes('rclone')),
      [],
      'activate() started rclone',
    );
    assert.equal(api.svc.viewState, undefined, 'the tree was not listed yet');
  });

  it('opening the Rclone view container activates it', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.rclone');
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('sees the test box: environment and machine settings', () => {
    const box = boxInfo();
    assert.equal(process.env.RCLONE_CONFIG, box.configFile);
    assert.equal(vscode.workspace.getConfiguration('rclone').get('configFile'), box.configFile);
    assert.equal(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, box.workspace);
    // rclone's default cache dir follows XDG_CACHE_HOME: mounts without a profile cache in the box.
    assert.equal(process.env.XDG_CACHE_HOME, join(dirname(box.mountRoot), 'cache'));
  });

  it('runs in a remote extension host under the VS Code server', () => {
    if (boxInfo().host !== 'vscode-server') return;
    // Under Remote-SSH this is "ssh-remote"; under the bare server it is "<host>:<port>": only require one.
    assert.ok(vscode.env.remoteName, 'vscode.env.remoteName is not set');
  });
});
