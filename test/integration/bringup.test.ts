// The bring-up task in a real VS Code: a tasks.json task of type rclone-devbox mounts a bucket of
// the S3 server on real FUSE, warms and links ./cache_hub, then starts a real webui.py stand-in
// (test/fixtures/webui.py: reads the model folder through the link, then serves HTTP on loopback)
// and waits until it answers. Checked: the offered task, the ready notification, the status bar's
// steps, the page served from the mount, stop (the app's whole tree ends, the mount stays), a port
// in use, a missing interpreter, and a window that finds an app already running instead of
// starting a second copy. Every app, mount, link and file the suite makes is removed in `after`.
import * as assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { after, afterEach, before, describe, it } from 'mocha';
import { findApps, startApp, stopApp } from '../../src/core/app';
import { inspectLink } from '../../src/core/link';
import { freePort, processAlive } from '../../src/core/processes';
import { fetchText } from '../helpers/http';
import { ROOT } from '../helpers/root';
import { boxInfo } from './boxInfo';
import { api, cacheDir, ScriptedUi, setSetting, waitFor, withUi } from './util';

const REMOTE = 's3:index-tts-data';
const LABEL = 'webui (test)';

const workspace = () => boxInfo().workspace;
const tasksFile = () => join(workspace(), '.vscode', 'tasks.json');

/** Processes whose parent is `pid` (read from /proc/<pid>/stat). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Writes tasks.json with one rclone-devbox task, and waits until VS Code lists it. */
async function defineTask(def: Record<string, unknown>): Promise<vscode.Task> {
  await mkdir(dirname(tasksFile()), { recursive: true });
  await writeFile(
    tasksFile(),
    JSON.stringify({ version: '2.0.0', tasks: [{ type: 'rclone-devbox', label: LABEL, ...def }] }, null, 2),
  );
  return waitFor('tasks.json to be read', async () => {
    const tasks = await vscode.tasks.fetchTasks({ type: 'rclone-devbox' });
    return tasks.find((t) => t.name === LABEL && JSON.stringify(t.definition.command) === JSON.stringify(def.command));
  });
}

/** Runs `task` and resolves with its exit code once its terminal closes. */
async function runToEnd(task: vscode.Task, timeoutMs = 30_000): Promise<number | undefined> {
  const ended = new Promise<number | undefined>((done) => {
    const sub = vscode.tasks.onDidEndTaskProcess((e) => {
      if (e.execution.task.name !== task.name) return;
      sub.dispose();
      done(e.exitCode);
    });
  });
  await vscode.tasks.executeTask(task);
  return Promise.race([
    ended,
    new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`${task.name} did not end`)), timeoutMs)),
  ]);
}

describe('Bring-up task', function () {
  this.timeout(90_000);
  const mountPoint = join(boxInfo().mountRoot, 'bringup');
  const profile = { remote: REMOTE, mountPoint, cacheMode: 'full', cacheDir: cacheDir('bringup'), warm: [] };
  let port: number;
  let url: string;
  let putBack: Array<() => Promise<void>> = [];

  before(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    await copyFile(join(ROOT, 'test/fixtures/webui.py'), join(workspace(), 'webui.py'));
    putBack.push(await setSetting('mounts', [profile], vscode.ConfigurationTarget.Global));
  });

  afterEach(async () => {
    const { svc } = await api();
    for (const app of await findApps(svc.registry.stateDir, workspace())) await stopApp(app, svc.registry.stateDir);
  });

  after(async () => {
    const { svc } = await api();
    for (const undo of putBack.reverse()) await undo();
    putBack = [];
    await rm(join(workspace(), 'webui.py'), { force: true });
    await rm(join(workspace(), 'cache_hub'), { force: true });
    await rm(dirname(tasksFile()), { recursive: true, force: true }).catch(() => undefined);
    if (svc.registry.find(mountPoint))
      await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', mountPoint, true));
  });

  const appTask = (more: Record<string, unknown> = {}) => ({
    mount: REMOTE,
    link: { cache_hub: 'cache_hub_v23' },
    prewarm: ['cache_hub'],
    prewarmContent: true,
    command: ['python', 'webui.py', '--listen', '--port', String(port)],
    readyUrl: url,
    env: { WEBUI_START_DELAY: '1' },
    ...more,
  });

  it('is offered for a workspace with webui.py and a mount profile', async () => {
    const offered = (await vscode.tasks.fetchTasks({ type: 'rclone-devbox' })).find((t) => t.source === 'rclone');
    assert.ok(offered, 'no offered rclone-devbox task');
    assert.equal(offered.name, 'Bring up webui.py');
    assert.equal(offered.isBackground, true);
    assert.deepEqual(offered.definition.command, ['python', 'webui.py', '--listen', '--port', '7860']);
    assert.equal(offered.definition.mount, REMOTE);
    assert.deepEqual(offered.definition.link, { cache_hub: 'cache_hub' });
  });

  it('Bring Up Workspace runs it end to end: mount, warm, link, app; ready notification; status bar steps; Stop App', async () => {
    const { svc, statusBar } = await api();
    await defineTask(appTask({ command: ['python', 'webui.py', '--listen', '--port', String(port), '--spawn-child'] }));
    const texts: string[] = [];
    const seen = statusBar.item;
    const sub = svc.onDidChangeBusy(() => setTimeout(() => texts.push(seen.text), 0));
    const ui = new ScriptedUi([true]); // the question before a tasks.json task first runs
    try {
      await withUi(ui, () => vscode.commands.executeCommand('rclone.bringUp'));
      const ready = await waitFor('the ready notification', () =>
        ui.notes.find((n) => n.message.startsWith(`${LABEL}: the app is ready at ${url}`)),
      );
      assert.deepEqual(ready.actions, ['Open in Browser']);
    } finally {
      sub.dispose();
    }
    assert.deepEqual(ui.errors(), []);
    // The page lists the model files webui.py read through ./cache_hub → the mount's cache_hub_v23.
    assert.match((await fetchText(url)) ?? '', /gpt\.pth/);
    assert.equal((await inspectLink(join(workspace(), 'cache_hub'))).target, join(mountPoint, 'cache_hub_v23'));
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted');
    await waitFor('the status bar to say the app is ready', () => seen.text === `$(vm-running) app ready :${port}`);
    const steps = texts.join(' | ');
    for (const step of ['mounting…', 'warming', 'starting app…'])
      assert.ok(
        texts.some((t) => t.includes(step)),
        `no "${step}" in the status bar's steps: ${steps}`,
      );

    // Stop App: the app and the child it started in a session of its own end; the mount stays.
    const [app] = await findApps(svc.registry.stateDir, workspace());
    assert.ok(app, 'the app is recorded');
    const children = childrenOf(app.pid);
    assert.equal(children.length, 1, 'webui.py --spawn-child started one child');
    await vscode.commands.executeCommand('rclone.stopApp');
    await waitFor('the app and its child to end', () => ![app.pid, ...children].some((pid) => processAlive(pid)));
    await waitFor('the port to be free', async () => (await fetchText(url)) === undefined);
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted', 'the mount stays');
    await waitFor('the app to leave the status bar', () => !svc.apps.current);
  });

  it('is a background task whose problem matcher ends at "ready": a task that dependsOn it runs once the app answers', async () => {
    await defineTask(appTask());
    // A process task (VS Code's own runner, no shell) that fails unless the app answers when it starts.
    const probe = `import urllib.request, sys; sys.exit(0 if urllib.request.urlopen("${url}", timeout=2).status == 200 else 3)`;
    const tasks = JSON.parse(await readFile(tasksFile(), 'utf8')) as { tasks: unknown[] };
    tasks.tasks.push({
      label: 'after webui',
      type: 'process',
      command: 'python3',
      args: ['-c', probe],
      dependsOn: LABEL,
    });
    await writeFile(tasksFile(), JSON.stringify(tasks, null, 2));
    const after = await waitFor('the dependent task', async () =>
      (await vscode.tasks.fetchTasks()).find((t) => t.name === 'after webui'),
    );
    assert.equal(await withUi(new ScriptedUi([true]), () => runToEnd(after, 60_000)), 0, 'the probe ran after "ready"');
  });

  it('a tasks.json task is asked about before it first runs (once per definition): refused, nothing runs', async () => {
    const { svc } = await api();
    const other = await freePort();
    const task = await defineTask(appTask({ command: ['python', 'webui.py', '--port', String(other)] }));
    const refused = new ScriptedUi([false]);
    assert.equal(await withUi(refused, () => runToEnd(task)), 1);
    assert.equal(refused.asked.length, 1);
    assert.match(
      refused.asked[0]!.title ?? '',
      new RegExp(
        `^The task "${LABEL.replace(/[()]/g, '\\$&')}" in this workspace's tasks.json asks Rclone Dev Box to mount ${REMOTE} on .* and run \`python webui.py --port ${other}\``,
      ),
    );
    assert.deepEqual(refused.errors(), [], 'a refusal is not an error');
    assert.deepEqual(await findApps(svc.registry.stateDir, workspace()), [], 'nothing started');
  });

  it('a port in use: the task fails early, names the process holding it, exit code 1', async () => {
    const holder: Server = createServer();
    await new Promise<void>((ok) => holder.listen(port, '127.0.0.1', ok));
    const ui = new ScriptedUi([true]); // the question before a tasks.json task first runs
    try {
      const task = await defineTask(appTask({ command: ['python', 'webui.py', '--port', String(port)] }));
      const code = await withUi(ui, () => runToEnd(task));
      assert.equal(code, 1);
    } finally {
      holder.close();
    }
    const [error] = ui.errors();
    assert.ok(error, JSON.stringify(ui.notes));
    assert.match(error.message, new RegExp(`Port ${port} is already in use by .*\\(pid ${process.pid}`));
    const { svc } = await api();
    assert.deepEqual(await findApps(svc.registry.stateDir, workspace()), [], 'no app was started');
  });

  it('a missing interpreter or script: a clear error, exit code 1', async () => {
    for (const [command, message] of [
      [['/nonexistent/python3', 'webui.py'], /\/nonexistent\/python3 was not found/],
      [['python', 'missing_webui.py'], /missing_webui\.py was not found/],
    ] as const) {
      const ui = new ScriptedUi([true]); // the question before a tasks.json task first runs
      const task = await defineTask(appTask({ command }));
      assert.equal(await withUi(ui, () => runToEnd(task)), 1);
      const [error] = ui.errors();
      assert.ok(error, JSON.stringify(ui.notes));
      assert.match(error.message, message);
    }
  });

  it('an app already running (a reloaded window, the CLI) is found and shown, never started twice', async () => {
    const { svc, statusBar } = await api();
    const spec = appTask();
    // As a window before a reload would have left it: started, recorded, answering.
    const started = await startApp(
      { command: spec.command, cwd: workspace(), readyUrl: url, env: spec.env, label: LABEL },
      { stateDir: svc.registry.stateDir },
    );
    await waitFor('the app to answer', () => fetchText(url));
    await svc.apps.refresh();
    await waitFor('the status bar to show it', () => statusBar.item.text === `$(vm-running) app ready :${port}`);
    await defineTask(spec);
    const ui = new ScriptedUi();
    await withUi(ui, () => vscode.commands.executeCommand('rclone.bringUp'));
    const note = ui.notes.find((n) => n.message === `${LABEL}: the app already runs at ${url}.`);
    assert.ok(note, JSON.stringify(ui.notes));
    assert.deepEqual(note.actions, ['Open in Browser', 'Show Terminal']);
    const apps = await findApps(svc.registry.stateDir, workspace());
    assert.deepEqual(
      apps.map((a) => a.pid),
      [started.record.pid],
      'one app, the one that was running',
    );
    assert.equal((await readFile(started.record.logFile, 'utf8')).match(/Running on/g)?.length, 1);
  });
});
