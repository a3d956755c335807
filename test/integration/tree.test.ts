// The Remotes view, through its TreeDataProvider and the commands a user runs on it, against the
// real S3 server and real rclone.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { Rclone } from '../../src/core/rclone';
import type { Node, RemoteNode } from '../../src/vscode/nodes';
import { startProxy } from '../helpers/proxy';
import { boxInfo } from './boxInfo';
import { after, before, describe, it } from 'mocha';
import { api, labelOf, rowAt, rows, ScriptedUi, setSetting, waitFor, withUi } from './util';
import { rclonePids } from '../helpers/procs';

const MANY = Array.from({ length: 25 }, (_, i) => `file-${String(i + 1).padStart(2, '0')}.txt`);

describe('Remotes tree', () => {
  const restore: Array<() => Promise<void>> = [];

  before(async () => {
    // 25 objects in one folder, for paging and filtering; uploaded with rclone itself.
    const dir = mkdtempSync(join(tmpdir(), 'rdb-many-'));
    restore.push(async () => rmSync(dir, { recursive: true, force: true }));
    for (const name of MANY) writeFileSync(join(dir, name), name);
    const rclone = await Rclone.locate({ configFile: boxInfo().configFile });
    await rclone.run(['copy', dir, 's3:other-bucket/many'], { timeoutMs: 60_000 });
    // An object "foo" next to the prefix "foo/", and an object whose size a test changes.
    for (const [key, body] of [
      ['twin/foo', 'foo'],
      ['twin/foo/bar.txt', 'bar'],
      ['sized/grows.bin', 'abc'],
    ])
      await rclone.run(['rcat', '--', `s3:other-bucket/${key}`], { input: body, timeoutMs: 30_000 });
  });

  after(async () => {
    for (const r of restore.reverse()) await r();
    (await api()).remotes.tree.refresh();
  });

  it('lists the configured remote with its type and provider', async () => {
    const s3 = await rowAt('s3');
    assert.equal(s3.item.description, 's3 · Other');
    assert.equal(s3.item.contextValue, 'remote.file');
    assert.equal(s3.item.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    assert.match(
      String((s3.item.tooltip as vscode.MarkdownString).value),
      new RegExp(boxInfo().endpoint.replace(/[.]/g, '\\.')),
    );
    assert.equal((await api()).svc.viewState, 'ready');
  });

  it('shows buckets, then folders and files, each with its own kind', async () => {
    const buckets = await rows((await rowAt('s3')).node);
    assert.deepEqual(buckets.map((b) => b.label).sort(), Object.keys(boxInfo().buckets).sort());
    // A busy box may have another tool's mount of a bucket with the same name: that row shows it.
    const { svc } = await api();
    const mountedElsewhere = (bucket: string) =>
      svc.registry.mounts.some((m) => m.external && m.remote === `s3:${bucket}`);
    for (const b of buckets) {
      if (mountedElsewhere(b.label)) continue;
      assert.equal(b.item.contextValue, 'bucket', b.label);
      assert.equal((b.item.iconPath as vscode.ThemeIcon).id, 'database', b.label);
    }
    const inside = await rows((await rowAt('s3', 'index-tts-data')).node);
    const kinds = Object.fromEntries(inside.map((r) => [r.label, r.item.contextValue]));
    assert.deepEqual(kinds, { cache_hub: 'folder', cache_hub_v23: 'folder', 'webui.py': 'file' });
    const file = await rowAt('s3', 'index-tts-data', 'cache_hub', 'gpt.pth');
    assert.equal(file.item.description, '4.0 KB');
    assert.equal(file.item.id, 's3:index-tts-data/cache_hub/gpt.pth');
  });

  it('keeps ids stable across a refresh, so expansion survives', async () => {
    const before = (await rows((await rowAt('s3', 'index-tts-data')).node)).map((r) => r.item.id);
    await vscode.commands.executeCommand('rclone.refresh');
    const after = (await rows((await rowAt('s3', 'index-tts-data')).node)).map((r) => r.item.id);
    assert.deepEqual(after, before);
  });

  it('shows a page of a big folder and a "Load more…" row that loads the next page', async () => {
    restore.push(await setSetting('pageSize', 10));
    const many = (await rowAt('s3', 'other-bucket', 'many')).node;
    const { tree } = (await api()).remotes;
    tree.refresh(many as never);
    let list = await rows(many);
    assert.equal(list.length, 11);
    assert.equal(list.at(-1)!.label, 'Load more…');
    await vscode.commands.executeCommand('rclone.loadMore', many);
    list = await rows(many);
    assert.equal(list.length, 21);
    await vscode.commands.executeCommand('rclone.loadMore', many);
    list = await rows(many);
    assert.deepEqual(
      list.map((r) => r.label),
      MANY,
    );
  });

  it('"Load more…" reads on from the listing of the first page instead of listing again', async () => {
    restore.push(await setSetting('pageSize', 10));
    const { svc } = await api();
    const many = (await rowAt('s3', 'other-bucket', 'many')).node;
    // Counts the rclone listings of the folder (the real ones run: this only looks at their arguments).
    const rclone = await svc.rclone();
    const lines = rclone.lines;
    let listings = 0;
    rclone.lines = function (args, opts) {
      if (args.includes('s3:other-bucket/many')) listings++;
      return lines.call(this, args, opts);
    };
    try {
      await vscode.commands.executeCommand('rclone.clearFilter', many); // back to one page, listed anew
      assert.equal((await rows(many)).length, 11);
      await vscode.commands.executeCommand('rclone.loadMore', many);
      assert.equal((await rows(many)).length, 21);
      await vscode.commands.executeCommand('rclone.loadMore', many);
      assert.deepEqual(
        (await rows(many)).map((r) => r.label),
        MANY,
      );
      assert.equal(listings, 1, 'each "Load more…" listed the folder again');
    } finally {
      rclone.lines = lines;
    }
  });

  it('shows an object foo and a folder foo/ side by side, each with its own id', async () => {
    const twin = (await rowAt('s3', 'other-bucket', 'twin')).node;
    const list = await rows(twin);
    assert.deepEqual(list.map((r) => `${r.label} ${r.item.contextValue} ${r.item.id}`).sort(), [
      'foo file s3:other-bucket/twin/foo',
      'foo folder s3:other-bucket/twin/foo/',
    ]);
    // and VS Code's own view takes both (the same id twice is "already registered" there)
    const { view } = (await api()).remotes;
    for (const r of list) {
      await view.reveal(r.node, { select: true });
      await waitFor(`the selection to reach ${r.item.id}`, () => view.selection[0]?.id === r.item.id);
    }
  });

  it('Refresh shows the size an object has now', async () => {
    const rclone = await Rclone.locate({ configFile: boxInfo().configFile });
    assert.equal((await rowAt('s3', 'other-bucket', 'sized', 'grows.bin')).item.description, '3 B');
    await rclone.run(['rcat', '--', 's3:other-bucket/sized/grows.bin'], { input: 'x'.repeat(5000), timeoutMs: 30_000 });
    await vscode.commands.executeCommand('rclone.refresh');
    assert.equal((await rowAt('s3', 'other-bucket', 'sized', 'grows.bin')).item.description, '4.9 KB');
  });

  it('Refresh, or collapsing the folder, stops its listing in flight and ends its rclone', async () => {
    const { configFile, endpoint } = boxInfo();
    const original = await readFile(configFile, 'utf8');
    // A remote behind 1 s of latency each way: its listing is still running when it is stopped.
    const proxy = await startProxy(Number(new URL(endpoint).port), 1_000);
    const { tree } = (await api()).remotes;
    try {
      await writeFile(
        configFile,
        `${original}\n[slow]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\nsecret_access_key = S3RVER\nendpoint = ${proxy.endpoint}\nregion = us-east-1\n`,
      );
      const slow = await waitFor('the slow remote', async () => (await rows()).find((r) => r.label === 'slow'));
      const bucket = tree.node(slow.node as RemoteNode, { path: 'other-bucket', kind: 'bucket' });
      const many = tree.node(bucket, { path: 'other-bucket/many', kind: 'folder' });
      const labels = async (nodes: Thenable<Node[]>) => (await nodes).map((n) => labelOf(tree.getTreeItem(n)));
      for (const [how, stop] of [
        ['Refresh', () => tree.refresh()],
        ['collapse', () => tree.collapsed(many)],
      ] as const) {
        tree.refresh(many); // a listing of its own, not the one the last round left
        const listing = labels(tree.getChildren(many));
        const pids = await waitFor('the listing to start', () => {
          const found = rclonePids('slow:other-bucket/many');
          return found.length ? found : undefined;
        });
        const start = Date.now();
        stop();
        await waitFor(`rclone to end after ${how}`, () => pids.every((pid) => !existsSync(`/proc/${pid}`)), 3_000);
        const took = Date.now() - start;
        assert.ok(took < 500, `rclone ended ${took} ms after ${how}`);
        // The stopped listing shows no error: a Refresh answers with the new listing, a collapse with nothing.
        const shown = await listing;
        if (how === 'collapse') assert.deepEqual(shown, []);
        else assert.ok(shown.length > 0 && shown.every((l) => MANY.includes(l) || l === 'Load more…'), shown.join());
      }
    } finally {
      await writeFile(configFile, original);
      await proxy.stop();
      await waitFor('the slow remote to go', async () => !(await rows()).some((r) => r.label === 'slow'));
    }
  });

  it('narrows a folder with a filter, and clears it', async () => {
    const many = (await rowAt('s3', 'other-bucket', 'many')).node;
    const ui = new ScriptedUi(['-2']);
    await withUi(ui, () => vscode.commands.executeCommand('rclone.filter', many));
    const expected = MANY.filter((n) => n.includes('-2'));
    assert.deepEqual(
      (await rows(many)).map((r) => r.label),
      expected,
    );
    const item = (await api()).remotes.tree.getTreeItem(many);
    assert.match(String(item.description), /filter: -2/);
    assert.match(String(item.contextValue), / filtered$/);
    await vscode.commands.executeCommand('rclone.clearFilter', many);
    assert.ok((await rows(many)).length > expected.length);
  });

  it('goes to a deep path beyond the first page and selects it', async () => {
    restore.push(await setSetting('pageSize', 10));
    const node = (await vscode.commands.executeCommand('rclone.goToPath', 's3:other-bucket/many/file-25.txt')) as
      Node | undefined;
    assert.ok(node, 'goToPath returned nothing');
    const { view } = (await api()).remotes;
    await waitFor(
      'the selection to reach file-25.txt',
      () => view.selection[0]?.id === 's3:other-bucket/many/file-25.txt',
    );
    const list = await rows((await rowAt('s3', 'other-bucket', 'many')).node);
    assert.ok(
      list.some((r) => r.label === 'file-25.txt'),
      'the target is listed in its folder even beyond the page',
    );
  });

  it('shows a listing error as a row with its action, not as an exception', async () => {
    const { configFile } = boxInfo();
    const original = await readFile(configFile, 'utf8');
    restore.push(() => writeFile(configFile, original));
    // v2 signatures: s3rver checks those, so a wrong secret is refused as it would be by a real service.
    await writeFile(
      configFile,
      `${original}\n[badkey]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\nsecret_access_key = wrong-secret\nendpoint = ${boxInfo().endpoint}\nv2_auth = true\n`,
    );
    const badkey = await waitFor('the new remote to appear', async () =>
      (await rows()).find((r) => r.label === 'badkey'),
    );
    const children = await rows(badkey.node);
    assert.equal(children.length, 1);
    const row = children[0]!;
    // A few words in the label (the side bar is narrow), the whole message and its fix in the tooltip.
    assert.equal(row.label, 'Credentials refused — Edit Remote…');
    const tooltip = String(row.item.tooltip);
    assert.ok(tooltip.startsWith('The credentials for badkey were refused.\n\nEdit the remote'), tooltip);
    assert.equal(row.item.command?.command, 'rclone.editRemote');
    assert.deepEqual(row.item.command?.arguments, ['badkey']);
    assert.ok(!tooltip.includes('wrong-secret'));
  });

  it('says so when there are no remotes, and when rclone is missing (welcome views)', async () => {
    const { svc, remotes } = await api();
    const emptyDir = mkdtempSync(join(tmpdir(), 'rdb-empty-'));
    restore.push(async () => rmSync(emptyDir, { recursive: true, force: true }));
    const empty = join(emptyDir, 'rclone.conf');
    await writeFile(empty, '');
    // approve the workspace's rclone.configFile (a workspace's config takes effect only once approved)
    await withUi(new ScriptedUi([true]), async () => {
      const putBack = await setSetting('configFile', empty);
      try {
        await waitFor(
          'an empty tree',
          async () => (await remotes.tree.getChildren()).length === 0 && svc.viewState === 'noRemotes',
        );
      } finally {
        await putBack();
      }
    });
    const ui = new ScriptedUi([true]); // approve the workspace's rclone.path
    await withUi(ui, async () => {
      const putBackPath = await setSetting('path', '/nonexistent/rclone');
      try {
        await waitFor(
          'the "rclone missing" welcome',
          async () => (await remotes.tree.getChildren()).length === 0 && svc.viewState === 'missing',
        );
        assert.equal(ui.asked[0]?.kind, 'confirm');
        assert.match(ui.asked[0]!.title!, /\/nonexistent\/rclone/);
      } finally {
        await putBackPath();
      }
    });
    await waitFor(
      'the remotes again',
      async () => (await remotes.tree.getChildren()).length > 0 && svc.viewState === 'ready',
    );
  });
});
