// Copy mode in a real VS Code: a mount profile with "mode": "copy" (no FUSE needed), a task that
// links cache_hub → cache_hub_v23 and outputs → outputs/box-1 and runs the webui.py stand-in.
// Checked: Bring Up copies the version into the workspace's .rclone-devbox and links it (nothing is
// mounted), the app reads it, the status bar counts an output file written through ./outputs,
// Upload Outputs sends it to the bucket, and once the app is stopped the status bar says
// "local copy cache_hub_v23 · 4.0 KB". Everything the suite makes is removed in `after`.
import * as assert from 'node:assert/strict';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { after, before, describe, it } from 'mocha';
import { findApps, stopApp } from '../../src/core/app';
import { inspectLink } from '../../src/core/link';
import { freePort } from '../../src/core/processes';
import { fetchText } from '../helpers/http';
import { ROOT } from '../helpers/root';
import { boxInfo } from './boxInfo';
import { api, ScriptedUi, setSetting, waitFor, withUi } from './util';

const REMOTE = 's3:index-tts-data';
const LABEL = 'webui (copy mode)';

describe('Copy mode (no FUSE needed)', function () {
  this.timeout(90_000);
  const workspace = () => boxInfo().workspace;
  const tasksFile = () => join(workspace(), '.vscode', 'tasks.json');
  const mountPoint = join(boxInfo().mountRoot, 'copy-mode');
  const root = () => join(workspace(), '.rclone-devbox', 's3', 'index-tts-data');
  let putBack: Array<() => Promise<void>> = [];
  let port: number;
  let url: string;

  before(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    await copyFile(join(ROOT, 'test/fixtures/webui.py'), join(workspace(), 'webui.py'));
    putBack.push(
      await setSetting('mounts', [{ remote: REMOTE, mountPoint, mode: 'copy' }], vscode.ConfigurationTarget.Global),
    );
    await mkdir(dirname(tasksFile()), { recursive: true });
    await writeFile(
      tasksFile(),
      JSON.stringify({
        version: '2.0.0',
        tasks: [
          {
            type: 'rclone-devbox',
            label: LABEL,
            mount: REMOTE,
            link: { cache_hub: 'cache_hub_v23', outputs: 'outputs/box-1' },
            command: ['python', 'webui.py', '--port', String(port)],
            readyUrl: url,
            env: { WEBUI_START_DELAY: '0.3' },
          },
        ],
      }),
    );
  });

  after(async () => {
    const { svc } = await api();
    for (const app of await findApps(svc.registry.stateDir, workspace())) await stopApp(app, svc.registry.stateDir);
    for (const undo of putBack.reverse()) await undo();
    putBack = [];
    for (const name of ['webui.py', 'cache_hub', 'outputs', '.rclone-devbox'])
      await rm(join(workspace(), name), { recursive: true, force: true });
    await rm(dirname(tasksFile()), { recursive: true, force: true });
    const rclone = await svc.rclone();
    await rclone.run(['purge', '--', `${REMOTE}/outputs`], { timeoutMs: 30_000 }).catch(() => undefined);
  });

  it('Bring Up copies and links the version, the app runs on it, and its outputs are counted and uploaded', async () => {
    const { svc, statusBar } = await api();
    await waitFor('the task in the task list', async () =>
      (await vscode.tasks.fetchTasks({ type: 'rclone-devbox' })).some((t) => t.name === LABEL),
    );
    const ui = new ScriptedUi([true]); // the question before a tasks.json task first runs
    await withUi(ui, async () => {
      await vscode.commands.executeCommand('rclone.bringUp');
      await waitFor('the ready notification', () =>
        ui.notes.find((n) => n.message.startsWith(`${LABEL}: the app is ready at ${url}`)),
      );
    });
    assert.deepEqual(ui.errors(), []);
    assert.equal((await inspectLink(join(workspace(), 'cache_hub'))).target, join(root(), 'cache_hub_v23'));
    assert.equal((await inspectLink(join(workspace(), 'outputs'))).target, join(root(), 'outputs', 'box-1'));
    assert.match((await fetchText(url)) ?? '', /gpt\.pth/, 'the app read the local copy');
    assert.equal(svc.registry.find(mountPoint), undefined, 'nothing mounted');

    await writeFile(join(workspace(), 'outputs', 'take 1.wav'), 'RIFF take one');
    await waitFor('the status bar to count the output', () => statusBar.item.text.endsWith(' · 1 to upload'), 15_000);
    const upload = new ScriptedUi();
    await withUi(upload, () => vscode.commands.executeCommand('rclone.uploadOutputs'));
    assert.deepEqual(
      upload.notes.map((n) => n.message),
      [`Uploaded 1 output file to ${REMOTE}/outputs/box-1.`],
    );
    const rclone = await svc.rclone();
    assert.equal(
      await rclone.run(['cat', '--', `${REMOTE}/outputs/box-1/take 1.wav`], { timeoutMs: 30_000 }),
      'RIFF take one',
    );
    await waitFor('the count to go', () => !statusBar.item.text.includes('to upload'));

    await vscode.commands.executeCommand('rclone.stopApp');
    await waitFor('the app to leave the status bar', () => !svc.apps.current);
    await waitFor(
      'the status bar to show the local copy',
      () => statusBar.item.text === '$(file-symlink-directory) local copy cache_hub_v23 · 4.0 KB',
    );
  });
});
