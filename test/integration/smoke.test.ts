// Smoke suite: the extension is there, activates from its view, and sees what the runner set up.
// The real suites live next to this file; this one only proves the machinery works.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { boxInfo } from './boxInfo';
import { describe, it } from './harness';

const EXTENSION_ID = 'rclone-devbox.rclone-devbox';

describe('smoke', () => {
  it('the extension under development is present', () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is not installed in this window`);
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
  });

  it('runs in a remote extension host under the VS Code server', () => {
    if (boxInfo().host !== 'vscode-server') return;
    // Under Remote-SSH this is "ssh-remote"; under the bare server it is "<host>:<port>": only require one.
    assert.ok(vscode.env.remoteName, 'vscode.env.remoteName is not set');
  });
});
