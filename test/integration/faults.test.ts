// Faults as the editor meets them, in a real VS Code with real rclone mounts on real FUSE: an rclone
// killed (-9) under a mount, an rclone stopped (SIGSTOP), and the editor and the CLI acting on the
// same profile at once. What the user sees (the status bar, the tree) must be the truth within a
// bound, the extension host must stay responsive, and nothing may be lost or doubled.
// Every mount, process, link and file the suite makes is removed in `after`, even on failure.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { after, before, describe, it } from 'mocha';
import { inspectLink } from '../../src/core/link';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { processAlive } from '../../src/core/processes';
import { rclonePids } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';
import { ROOT } from '../helpers/root';
import type { Folder, Node } from '../../src/vscode/nodes';
import { boxInfo } from './boxInfo';
import { api, cacheDir, ScriptedUi, setSetting, waitFor, withUi } from './util';

const REMOTE = 's3:index-tts-data';

/** Runs the CLI as another process would (a boot script, a terminal): the box's config and state dir. */
function cli(args: string[], cwd = boxInfo().workspace): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, 'dist/cli.js'), ...args],
      { cwd, timeout: 60_000, env: { ...process.env, RCLONE_CONFIG: boxInfo().configFile, ELECTRON_RUN_AS_NODE: '1' } },
      (e, stdout, stderr) => done({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs a program (no shell) and waits for it; rejects when it fails. */
const run = (file: string, args: string[]) =>
  new Promise<void>((ok, fail) => execFile(file, args, { timeout: 30_000 }, (e) => (e ? fail(e) : ok())));

/** Resolves once `event` has not fired for `ms`. */
const quiet = (event: vscode.Event<unknown>, ms: number) =>
  new Promise<void>((done) => {
    let timer = setTimeout(end, ms);
    const sub = event(() => {
      clearTimeout(timer);
      timer = setTimeout(end, ms);
    });
    function end() {
      sub.dispose();
      done();
    }
  });

/** How late a 50 ms interval timer in this extension host fires, at worst, while `work` runs. */
async function worstLateness(work: () => Promise<void>): Promise<number> {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 50);
    last = now;
  }, 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return worst;
}

describe('Faults in the editor', function () {
  this.timeout(120_000);
  const mountPoint = join(boxInfo().mountRoot, 'faults');
  const profile = { remote: REMOTE, mountPoint, cacheMode: 'writes', cacheDir: cacheDir('faults'), warm: [] };
  const link = join(boxInfo().workspace, 'cache_hub');
  let putBack: () => Promise<void> = async () => undefined;

  before(async () => {
    putBack = await setSetting('mounts', [profile], vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    const { svc } = await api();
    const pid = svc.registry.find(mountPoint)?.pid;
    if (pid) process.kill(pid, 'SIGCONT'); // a failed SIGSTOP case must not leave it stopped
    await putBack();
    if ((await inspectLink(link)).kind === 'symlink') await rm(link);
    await svc.registry.refresh();
    const m = svc.registry.find(mountPoint);
    if (m?.state === 'stale') await svc.registry.repair(mountPoint);
    else if (m)
      await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', mountPoint, true));
  });

  const mountHere = async () => {
    const m = await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.mount', profile));
    assert.ok(m, 'mounted');
  };

  it('rclone killed (-9) under the mount: the status bar and the tree say stale within 2 s; Remount / Repair brings it back', async () => {
    const { svc, statusBar, remotes } = await api();
    await mountHere();
    const pid = svc.registry.find(mountPoint)?.pid;
    assert.ok(pid && processAlive(pid));
    // A file written and closed just before: rclone uploads it after --vfs-write-back (5 s), so it is pending.
    await writeFile(join(mountPoint, 'fault-pending.txt'), 'written before the kill\n');
    // rclone 1.60 notes a closed file as dirty in its cache's metadata a moment after the close: a
    // kill within that moment (seen once in three runs, killed a few ms after the close) loses the
    // mark, and the next mount does not upload the file. A second later it is safe.
    await new Promise((ok) => setTimeout(ok, 1_000));
    const killed = performance.now();
    process.kill(pid, 'SIGKILL');
    await waitFor('the status bar to say stale', () => statusBar.item.text.includes('stale'), 5_000);
    const shownMs = performance.now() - killed;
    assert.ok(shownMs < 2_000, `stale shown after ${Math.round(shownMs)} ms`);
    const s3 = (await remotes.tree.getChildren()).find((n) => n.id === 's3:')!;
    const row = (await remotes.tree.getChildren(s3)).find((n) => n.id === REMOTE)!;
    const item = remotes.tree.getTreeItem(row);
    assert.match(String(item.contextValue), /stale/, `the bucket row: ${item.contextValue}`);
    // Repair and mount again: the VFS cache's pending file is uploaded by the new rclone.
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.remount', mountPoint));
    await waitFor('mounted again', () => svc.registry.find(mountPoint)?.state === 'mounted');
    const listed = await waitFor(
      'the pending file in the bucket',
      async () => {
        const r = await cli(['ls', `${REMOTE}`]);
        return r.stdout.includes('fault-pending.txt') ? r.stdout : undefined;
      },
      30_000,
    );
    assert.match(listed, /fault-pending\.txt\t24/);
  });

  it('rclone stopped (SIGSTOP): "not answering", never killed by a repair; the host stays responsive; SIGCONT resumes', async () => {
    const { svc, statusBar } = await api();
    if (svc.registry.find(mountPoint)?.state !== 'mounted') await mountHere();
    const pid = svc.registry.find(mountPoint)!.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const late = await worstLateness(async () => {
        await waitFor(
          'the status bar to say not answering',
          () => statusBar.item.text.includes('not answering'),
          15_000,
        );
        // A repair is refused: the process is alive, whatever was written to it is kept.
        const ui = new ScriptedUi();
        await withUi(ui, () => vscode.commands.executeCommand('rclone.remount', mountPoint));
        assert.ok(processAlive(pid), 'a repair never kills a stopped rclone');
      });
      assert.ok(late < 250, `a 50 ms timer in the extension host was ${Math.round(late)} ms late`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor('mounted again after SIGCONT', () => statusBar.item.text.includes('mounted'), 15_000);
    assert.equal(svc.registry.find(mountPoint)?.pid, pid, 'the same rclone');
  });

  it('the VFS cache disk full: a write fails, a notification says why, the status bar says "cache full"', async function () {
    if (process.getuid?.() !== 0) return this.skip(); // a tmpfs of its own needs root
    const { svc, statusBar } = await api();
    const small = join(boxInfo().mountRoot, '..', 'cache', 'small-disk');
    const full = { ...profile, mountPoint: join(boxInfo().mountRoot, 'faults-full'), cacheDir: small };
    await mkdir(small, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small]);
    const ui = new ScriptedUi();
    try {
      assert.ok(await withUi(ui, () => vscode.commands.executeCommand('rclone.mount', full)));
      const followed = await setSetting('mounts', [full], vscode.ConfigurationTarget.Global); // the status bar follows it
      try {
        await withUi(ui, async () => {
          // 16 MB through a cache disk of 8: the write (or its close) fails.
          await assert.rejects(writeFile(join(full.mountPoint, 'too-big.bin'), Buffer.alloc(16 << 20, 7)));
          const note = await waitFor(
            'the notification',
            () => ui.errors().find((n) => n.message.startsWith(`The VFS cache disk of ${full.mountPoint} is full`)),
            30_000,
          );
          assert.deepEqual(note.actions, ['Show Log']);
        });
        await waitFor('the status bar to say cache full', () => statusBar.item.text.includes('cache full'), 10_000);
        assert.equal(ui.errors().length, 1, 'said once');
      } finally {
        await followed();
      }
      await rm(join(full.mountPoint, 'too-big.bin'), { force: true });
      await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', full.mountPoint, true));
    } finally {
      await svc.registry.refresh();
      if (svc.registry.find(full.mountPoint))
        await svc.registry.unmount(full.mountPoint, { force: true }).catch(() => undefined);
      await run('umount', ['-l', small]);
    }
  });

  it('the editor and the CLI mount the same profile at once: one mount, both say so', async () => {
    const { svc } = await api();
    await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', mountPoint, true));
    assert.equal(svc.registry.find(mountPoint), undefined);
    const ui = new ScriptedUi();
    const [editor, shell] = await Promise.all([
      withUi(ui, () => vscode.commands.executeCommand('rclone.mount', profile)),
      cli(['mount', REMOTE, mountPoint, '--cache-dir', profile.cacheDir]),
    ]);
    assert.ok(editor, JSON.stringify(ui.notes));
    assert.equal(shell.code, 0, shell.stderr);
    assert.deepEqual(ui.errors(), []);
    const ours = (await readRcloneMounts()).filter((m) => m.mountPoint === mountPoint);
    assert.equal(ours.length, 1, 'one mount');
    await svc.registry.refresh();
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted');
  });

  it('the editor and the CLI relink ./cache_hub at once: one link, to one of the two targets, never missing', async () => {
    const targets = [join(mountPoint, 'cache_hub'), join(mountPoint, 'cache_hub_v23')];
    const ui = new ScriptedUi();
    const [, shell] = await Promise.all([
      withUi(ui, () => vscode.commands.executeCommand('rclone.relink', targets[1])),
      cli(['link', targets[0]!]),
    ]);
    assert.equal(shell.code, 0, shell.stderr);
    const info = await inspectLink(link);
    assert.equal(info.kind, 'symlink');
    assert.ok(targets.includes(info.target!), info.target);
    assert.match(await readFile(join(link, 'gpt.pth'), 'utf8'), /^[gG]+$/);
  });

  it('the editor and the CLI unmount at once: unmounted once, no error; the loser says nothing was mounted', async () => {
    const { svc } = await api();
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted');
    const ui = new ScriptedUi();
    const [, shell] = await Promise.all([
      withUi(ui, () => vscode.commands.executeCommand('rclone.unmount', mountPoint, true)),
      cli(['unmount', mountPoint, '--force']),
    ]);
    assert.deepEqual(ui.errors(), []);
    assert.ok(
      shell.code === 0 || (shell.code === 1 && /^Nothing is mounted on /.test(shell.stderr)),
      `${shell.code}: ${shell.stderr}`,
    );
    assert.ok(!(await readRcloneMounts()).some((m) => m.mountPoint === mountPoint), 'unmounted');
    await svc.registry.refresh();
    assert.equal(svc.registry.find(mountPoint), undefined);
  });

  it('a reboot (processes and mounts gone, state kept): nothing stale is shown; auto-mount brings it back and sends the pending upload', async () => {
    const { svc, mounts, statusBar } = await api();
    await mountHere();
    const pid = svc.registry.find(mountPoint)!.pid!;
    await writeFile(join(mountPoint, 'before-reboot.txt'), 'pending at the reboot\n');
    await new Promise((ok) => setTimeout(ok, 1_000)); // past the moment rclone notes it for upload
    // The reboot, as far as this box can have one: the process is gone, the kernel forgets the mount.
    process.kill(pid, 'SIGKILL');
    await run('fusermount3', ['-uz', mountPoint]);
    await svc.registry.refresh();
    assert.equal(svc.registry.find(mountPoint), undefined, 'no recorded mount that does not exist');
    assert.ok(!statusBar.item.text.includes('stale'), statusBar.item.text);
    const autoMount = await setSetting('autoMount', true, vscode.ConfigurationTarget.Global);
    try {
      await withUi(new ScriptedUi(), () => mounts.autoMount());
    } finally {
      await autoMount();
    }
    await waitFor('mounted again', () => svc.registry.find(mountPoint)?.state === 'mounted');
    assert.notEqual(svc.registry.find(mountPoint)?.pid, pid, 'a new rclone');
    const listed = await waitFor(
      'the pending file in the bucket',
      async () => {
        const r = await cli(['ls', REMOTE]);
        return r.stdout.includes('before-reboot.txt') ? r.stdout : undefined;
      },
      30_000,
    );
    assert.match(listed, /before-reboot\.txt\t22/);
  });

  /** A remote of its own named `name`, through a proxy that can slow down or go away like a real endpoint. */
  async function withProxiedRemote(name: string, test: (proxy: Proxy, node: Node) => Promise<void>): Promise<void> {
    const { remotes, svc } = await api();
    const { configFile, endpoint } = boxInfo();
    const original = await readFile(configFile, 'utf8');
    const proxy = await startProxy(Number(new URL(endpoint).port));
    try {
      await writeFile(
        configFile,
        `${original}\n[${name}]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\nsecret_access_key = S3RVER\nendpoint = ${proxy.endpoint}\n`,
      );
      const node = await waitFor('the new remote', async () =>
        (await remotes.tree.getChildren()).find((n) => n.id === `${name}:`),
      );
      // A config change lists every folder again: the test starts once the file has been quiet a while.
      await quiet(svc.onDidChangeRemotes, 300);
      await test(proxy, node);
    } finally {
      await writeFile(configFile, original);
      await proxy.stop();
    }
  }

  /** The labels of a tree node's rows. */
  const labels = async (node: Node) => {
    const { tree } = (await api()).remotes;
    return (await tree.getChildren(node)).map((n) => {
      const label = tree.getTreeItem(n).label;
      return typeof label === 'string' ? label : (label?.label ?? '');
    });
  };

  it('the endpoint goes away: the tree says so at once, with Edit Remote; once it is back, a refresh lists again', async () => {
    const { tree } = (await api()).remotes;
    await withProxiedRemote('flaky', async (proxy, flaky) => {
      assert.ok((await labels(flaky)).includes('index-tts-data'));
      await proxy.down();
      tree.refresh(flaky as Folder);
      const t0 = performance.now();
      assert.deepEqual(await labels(flaky), ['Endpoint unreachable — Edit Remote…']);
      assert.ok(performance.now() - t0 < 15_000, `said after ${Math.round(performance.now() - t0)} ms`);
      await proxy.up();
      tree.refresh(flaky as Folder);
      assert.ok((await labels(flaky)).includes('index-tts-data'), 'listed again once the endpoint is back');
    });
  });

  it('a slow endpoint (2 s a request): Cancel ends the listing and its rclone, the folder says so; its row lists again', async () => {
    const { tree } = (await api()).remotes;
    await withProxiedRemote('slowpoke', async (proxy, slow) => {
      proxy.setDelay(2_000);
      const ours = () => rclonePids('slowpoke:');
      const rows = labels(slow);
      await waitFor("the listing's rclone", () => ours().length > 0, 10_000);
      tree.cancel(slow as Folder); // what the notification's Cancel does
      const cancelled = performance.now();
      assert.deepEqual(await rows, ['Listing cancelled']);
      await waitFor('no rclone listing slowpoke: left', () => ours().length === 0, 2_000);
      assert.ok(performance.now() - cancelled < 2_000);
      assert.deepEqual(await labels(slow), ['Listing cancelled'], 'a repaint does not list again');
      proxy.setDelay(0);
      const [row] = await tree.getChildren(slow);
      const click = tree.getTreeItem(row!).command!;
      await vscode.commands.executeCommand(click.command, ...(click.arguments ?? []));
      assert.ok((await labels(slow)).includes('index-tts-data'), 'listed again after a click on the row');
    });
  });
});
