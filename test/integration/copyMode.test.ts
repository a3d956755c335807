// Copy mode in a real VS Code, on a box without FUSE: the extension's preflight is pointed at a
// device that does not exist (RCLONE_DEVBOX_FUSE_DEVICE, read by our checks only, set in this
// extension host for the suite), and the mount profile says "mode": "auto". A task that
// links cache_hub → cache_hub_v23 and outputs → outputs/box-1 and runs the webui.py stand-in.
// Checked: Bring Up copies the version into the workspace's .rclone-devbox and links it (nothing is
// mounted), the app reads it, the status bar counts an output file written through ./outputs,
// Upload Outputs sends it to the bucket, and once the app is stopped the status bar says
// "local copy cache_hub_v23 · 4.0 KB". Everything the suite makes is removed in `after`.
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
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
import { api, rowAt, rows, ScriptedUi, setSetting, waitFor, withUi } from './util';

const REMOTE = 's3:index-tts-data';
const LABEL = 'webui (copy mode)';

describe('Copy mode (a box without FUSE)', function () {
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
      await setSetting('mounts', [{ remote: REMOTE, mountPoint, mode: 'auto' }], vscode.ConfigurationTarget.Global),
    );
    const fuse = process.env.RCLONE_DEVBOX_FUSE_DEVICE;
    process.env.RCLONE_DEVBOX_FUSE_DEVICE = join(boxInfo().mountRoot, 'no-such-fuse-device');
    putBack.push(async () => {
      if (fuse === undefined) delete process.env.RCLONE_DEVBOX_FUSE_DEVICE;
      else process.env.RCLONE_DEVBOX_FUSE_DEVICE = fuse;
    });
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
    // The tree: under the bucket, its local copies, the linked one marked, with its size.
    await svc.models.refresh();
    const local = await waitFor('the local copies in the tree', async () => {
      const group = (await rows((await rowAt('s3', 'index-tts-data')).node)).find((r) => r.label === 'Local copies');
      return group && (await rows(group.node));
    });
    assert.deepEqual(
      local.map((r) => [r.label, r.item.description]),
      [['cache_hub_v23', '← ./cache_hub · 4.0 KB']],
    );

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
  it("Link Model Version… offers the bucket's versions: one not copied yet is copied first, then linked; Roll Back; Remove Local Copy…", async () => {
    const { svc } = await api();
    const link = join(workspace(), 'cache_hub');
    assert.equal((await inspectLink(link)).target, join(root(), 'cache_hub_v23'), 'as the bring-up left it');
    // Another tool's (or suite's) mount of a bucket may be up: its versions are offered too, under its mount point.
    const ui = new ScriptedUi([{ label: 'cache_hub', description: /copied here first/ }]);
    await withUi(ui, () => vscode.commands.executeCommand('rclone.relink'));
    assert.deepEqual(ui.errors(), []);
    const pick = ui.asked[0]!;
    const offered = pick.items!.map((label, i) => `${label} — ${pick.descriptions![i]}`);
    assert.ok(offered.includes('cache_hub — in s3:index-tts-data: copied here first'), offered.join(' | '));
    assert.ok(offered.includes('$(link) cache_hub_v23 — local copy · 4.0 KB'), offered.join(' | '));
    assert.equal((await inspectLink(link)).target, join(root(), 'cache_hub'), 'copied, then linked');
    assert.match(ui.notes.at(-1)?.message ?? '', /cache_hub → .*cache_hub \(was cache_hub_v23\)\./);
    assert.equal(svc.registry.find(mountPoint), undefined, 'still nothing mounted');

    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.rollback'));
    assert.equal((await inspectLink(link)).target, join(root(), 'cache_hub_v23'));

    // Remove Local Copy… offers only what the link does not point at, asks, and says what it freed.
    const remove = new ScriptedUi(['cache_hub', true]);
    await withUi(remove, () => vscode.commands.executeCommand('rclone.removeLocalVersion'));
    assert.deepEqual(remove.asked[0]!.items, ['cache_hub'], 'never the linked cache_hub_v23');
    assert.deepEqual(
      remove.notes.map((n) => n.message),
      ['Removed cache_hub: 4.0 KB freed.'],
    );
    assert.equal((await inspectLink(link)).target, join(root(), 'cache_hub_v23'));
    assert.equal(existsSync(join(root(), 'cache_hub')), false);
  });
});
