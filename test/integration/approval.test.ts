// A workspace's rclone.mounts, rclone.autoMount and rclone.configFile (like rclone.path) take
// effect only once the user approved them: opening a repository must not mount or run anything.
// Real mounts on real FUSE against the S3 server; the approval is answered by a scripted person.
import * as assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { boxInfo } from './boxInfo';
import { after, describe, it } from 'mocha';
import { api, cacheDir, ScriptedUi, setSetting, waitFor, withUi } from './util';

describe('Workspace settings wait for approval', () => {
  const restore: Array<() => Promise<void>> = [];
  const mountPoints: string[] = [];

  after(async () => {
    const { svc } = await api();
    for (const r of restore.reverse()) await r();
    for (const m of await svc.registry.refresh())
      if (mountPoints.includes(m.mountPoint))
        await svc.registry.unmount(m.mountPoint, { force: true }).catch(() => svc.registry.repair(m.mountPoint));
  });

  it('a workspace with rclone.mounts and rclone.autoMount mounts nothing until approved, then mounts', async () => {
    const { svc, mounts, statusBar } = await api();
    const mountPoint = join(boxInfo().mountRoot, 'approval-other-bucket');
    mountPoints.push(mountPoint);
    restore.push(
      await setSetting('mounts', [{ remote: 's3:other-bucket', mountPoint, cacheDir: cacheDir('approval') }]),
      await setSetting('autoMount', true),
    );

    // Not approved: no profile, not followed by the status bar, not auto-mounted (refused if asked).
    assert.ok(!svc.settings.profiles.some((p) => p.mountPoint === mountPoint));
    assert.equal(svc.settings.autoMount, false);
    assert.notEqual(statusBar.followed()?.mountPoint, mountPoint);
    const refuse = new ScriptedUi([false]);
    await withUi(refuse, () => mounts.autoMount());
    assert.equal(
      (await svc.registry.refresh()).find((m) => m.mountPoint === mountPoint),
      undefined,
    );
    assert.ok(refuse.asked.every((a) => a.kind === 'confirm'));

    // Approved (asked again on purpose, as after a refusal): both take effect and it mounts.
    const allow = new ScriptedUi([true]);
    await withUi(allow, async () => {
      assert.equal(await svc.approveWorkspace(true), true);
      await mounts.autoMount();
    });
    assert.equal(allow.asked.length, 1, JSON.stringify(allow.asked));
    assert.equal(
      allow.asked[0]!.title,
      `This workspace asks Rclone Dev Box to mount s3:other-bucket on ${mountPoint}; mount the profiles of rclone.mounts whenever a window opens.`,
    );
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted', JSON.stringify(allow.notes));
    assert.equal(await readFile(join(mountPoint, 'readme.txt'), 'utf8'), 'another bucket\n');
    assert.equal(statusBar.followed()?.mountPoint, mountPoint);
    await waitFor('the status bar to follow the approved profile', () =>
      (statusBar.item.tooltip as vscode.MarkdownString | undefined)?.value.includes(mountPoint),
    );
  });

  it('a changed value is asked about again, and a refusal is not asked again in this window', async () => {
    const { svc } = await api();
    const changed = join(boxInfo().mountRoot, 'approval-changed');
    restore.push(
      await setSetting('mounts', [{ remote: 's3:other-bucket', mountPoint: changed, cacheDir: cacheDir('approval') }]),
    );
    assert.ok(!svc.settings.profiles.some((p) => p.mountPoint === changed));
    const refuse = new ScriptedUi([false]);
    await withUi(refuse, () => svc.approveWorkspace());
    // autoMount (still true) was approved before: only the new profile is asked about.
    assert.deepEqual(
      refuse.asked.map((a) => a.title),
      [`This workspace asks Rclone Dev Box to mount s3:other-bucket on ${changed}.`],
    );
    assert.ok(!svc.settings.profiles.some((p) => p.mountPoint === changed));
    const quiet = new ScriptedUi();
    await withUi(quiet, () => svc.approveWorkspace());
    assert.equal(quiet.asked.length, 0);
  });

  it('rclone.configFile from the workspace is used only once approved', async () => {
    const { svc } = await api();
    const own = boxInfo().configFile;
    const copy = join(boxInfo().stateDir, 'workspace-rclone.conf');
    await writeFile(copy, await readFile(own, 'utf8'), { mode: 0o600 });
    const refuse = new ScriptedUi([false]);
    await withUi(refuse, async () => {
      restore.push(await setSetting('configFile', copy));
      assert.equal(svc.settings.configFile, own);
      assert.equal((await svc.rclone()).configFile, own);
    });
    assert.equal(refuse.asked.length, 1);
    assert.equal(refuse.asked[0]!.title, `This workspace asks Rclone Dev Box to use the rclone config ${copy}.`);
    const allow = new ScriptedUi([true]);
    await withUi(allow, () => svc.approveWorkspace(true));
    assert.equal(svc.settings.configFile, copy);
    assert.equal((await svc.rclone()).configFile, copy);
  });
});
