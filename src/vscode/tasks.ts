// The `rclone-devbox` task type: mount → warm → link → app, in a terminal the user watches (a
// pseudoterminal over core/bringup.ts), offered for a workspace with IndexTTS2's webui.py and
// writable in tasks.json for any app, or in the repository's team profile
// (.vscode/rclone-devbox.json, whose tasks are offered here under their own labels). It is a
// background task: its problem matcher (package.json) begins on "rclone-devbox: bringing up" and
// ends on "rclone-devbox: ready" or "… failed", so `dependsOn` and `preLaunchTask` wait for the
// app to answer. Also the commands around it: Bring Up Workspace (one notification that follows
// the steps), Open in Browser, Show Terminal, Stop App.
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { stopApp } from '../core/app';
import { bringUp, type BringUpPlan, type BroughtUp, failureLines, planOf, type Step } from '../core/bringup';
import { isRcloneError, RcloneError } from '../core/errors';
import { TEAM_PROFILE } from '../core/teamProfile';
import { type AppTask, defaultTask, TASK_TYPE } from '../core/workspace';
import type { AppView } from './apps';
import { command } from './commands';
import { showFailure } from './failures';
import type { Busy, Services } from './services';

/** The problem matcher contributed in package.json. */
const MATCHER = '$rclone-devbox';

/** What one bring-up in this window reports, for the Bring Up notification and the tests. */
export interface StepEvent {
  label: string;
  step?: Step;
  text: string;
  /** Set on the last event of a run. */
  end?: 'ready' | 'failed' | 'stopped';
}

/**
 * Where a task's definition comes from: the workspace's tasks.json, its team profile (both asked
 * about before they first run), or offered by us for webui.py (no question: approved profiles only).
 */
type Origin = 'tasksJson' | 'team' | 'offered';

export interface TaskSurface extends vscode.Disposable {
  /**
   * The task the workspace brings up with: tasks.json's first rclone-devbox task, else the team
   * profile's first, else the offered one.
   */
  workspaceTask(): Promise<vscode.Task | undefined>;
  readonly onDidStep: vscode.Event<StepEvent>;
}

export function register(svc: Services): TaskSurface {
  const steps = new vscode.EventEmitter<StepEvent>();
  const tasks = new Tasks(svc, steps);
  const disposables = vscode.Disposable.from(
    steps,
    // A terminal closed because the window reloads or closes: the app it shows keeps running.
    vscode.window.onDidCloseTerminal((t) => {
      if (t.exitStatus?.reason === vscode.TerminalExitReason.Shutdown) svc.shuttingDown = true;
    }),
    vscode.tasks.registerTaskProvider(TASK_TYPE, {
      provideTasks: () => tasks.provide(),
      resolveTask: (t) => tasks.resolve(t),
    }),
    command(svc, 'rclone.bringUp', () => tasks.bringUpWorkspace()),
    command(svc, 'rclone.openApp', (v?: AppView) => openInBrowser(svc, v)),
    command(svc, 'rclone.showAppTerminal', (v?: AppView) => tasks.showTerminal(v)),
    command(svc, 'rclone.stopApp', async (v?: AppView) => {
      const view = v ?? svc.apps.current;
      if (view) await svc.apps.stop(view);
    }),
  );
  return {
    workspaceTask: () => tasks.workspaceTask(),
    onDidStep: steps.event,
    dispose: () => disposables.dispose(),
  };
}

class Tasks {
  constructor(
    private readonly svc: Services,
    private readonly steps: vscode.EventEmitter<StepEvent>,
  ) {}

  /**
   * Offered: the team profile's tasks (but a label tasks.json has too: the user's own wins), and
   * IndexTTS2's bring-up, for each folder with a webui.py and a mount profile.
   */
  async provide(): Promise<vscode.Task[]> {
    await this.svc.settings.teams();
    const offered: vscode.Task[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const own = vscode.workspace.getConfiguration('tasks', folder.uri).get<unknown[]>('tasks');
      const labels = new Set(
        (Array.isArray(own) ? own : []).map((t) => (t as { label?: unknown } | null)?.label).filter(Boolean),
      );
      for (const def of this.svc.settings.teamTasks(folder.uri.fsPath))
        if (!labels.has(def.label)) offered.push(this.taskOf({ ...def, type: TASK_TYPE }, folder, def.label, 'team'));
    }
    const profile = this.svc.settings.profiles[0];
    if (!profile) return offered;
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const hasApp = await access(join(folder.uri.fsPath, 'webui.py')).then(
        () => true,
        () => false,
      );
      if (!hasApp) continue;
      const def = await defaultTask(folder.uri.fsPath, profile, this.svc.settings.modelLink);
      offered.push(this.taskOf({ ...def, type: TASK_TYPE }, folder, def.label!, 'offered'));
    }
    return offered;
  }

  /** A tasks.json task of our type gets its execution here. */
  resolve(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as AppTask & vscode.TaskDefinition;
    if (def.type !== TASK_TYPE) return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    if (!folder) return undefined;
    return this.taskOf(def, folder, task.name, 'tasksJson');
  }

  private taskOf(
    def: AppTask & vscode.TaskDefinition,
    folder: vscode.WorkspaceFolder,
    label: string,
    origin: Origin,
  ): vscode.Task {
    const task = new vscode.Task(
      def,
      folder,
      label,
      'rclone',
      new vscode.CustomExecution(
        async () => new BringUpTerminal(this.svc, this.steps, { ...def, label }, folder, origin),
      ),
      MATCHER,
    );
    task.isBackground = def.command !== undefined;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated };
    return task;
  }

  async workspaceTask(): Promise<vscode.Task | undefined> {
    const all = await vscode.tasks.fetchTasks({ type: TASK_TYPE });
    const team = (await this.svc.settings.teams()).flatMap((e) =>
      this.svc.settings.teamTasks(e.folder.uri.fsPath).map((t) => t.label),
    );
    // tasks.json first (the user's own), then the team profile's, then the offered one.
    return (
      all.find((t) => t.source !== 'rclone') ??
      all.find((t) => t.source === 'rclone' && team.includes(t.name)) ??
      all[0]
    );
  }

  /** Rclone: Bring Up Workspace: runs the workspace's task with one notification that follows its steps. */
  async bringUpWorkspace(): Promise<void> {
    const { svc } = this;
    const task = await this.workspaceTask();
    if (!task) {
      svc.ui.notify(
        'warning',
        vscode.l10n.t(
          'This workspace has nothing to bring up: no rclone-devbox task in tasks.json, and no webui.py with a mount profile.',
        ),
        [
          { title: vscode.l10n.t('Mount…'), run: () => vscode.commands.executeCommand('rclone.mount') },
          {
            title: vscode.l10n.t('Configure Task'),
            run: () => vscode.commands.executeCommand('workbench.action.tasks.configureTaskRunner'),
          },
        ],
      );
      return;
    }
    const folder = typeof task.scope === 'object' ? task.scope.uri.fsPath : '';
    const cwd = join(folder, (task.definition as AppTask).cwd ?? '.');
    const already = svc.apps.find(isAbsolute(cwd) ? cwd : folder, task.name);
    if (executionOf(task.name) && already?.phase !== 'ready') {
      // Running now (still coming up): its terminal shows how far; a second run would only ask to restart it.
      await this.showTerminal(already);
      return;
    }
    if (already?.phase === 'ready') {
      svc.ui.notify(
        'info',
        already.url
          ? vscode.l10n.t('{0}: the app already runs at {1}.', task.name, already.url)
          : vscode.l10n.t('{0}: the app already runs.', task.name),
        appActions(this, already),
      );
      return;
    }
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: task.name, cancellable: true },
      async (progress, token) => {
        const ended = new Promise<StepEvent>((done) => {
          const sub = this.steps.event((e) => {
            if (e.label !== task.name) return;
            if (e.end) {
              sub.dispose();
              done(e);
            } else progress.report({ message: e.text });
          });
          token.onCancellationRequested(() => {
            sub.dispose();
            executionOf(task.name)?.terminate();
            done({ label: task.name, text: vscode.l10n.t('cancelled'), end: 'stopped' });
          });
        });
        await vscode.tasks.executeTask(task);
        await ended;
      },
    );
  }

  async showTerminal(v?: AppView): Promise<void> {
    const view = v ?? this.svc.apps.current;
    const terminal = vscode.window.terminals.find((t) => t.name.includes(view?.label ?? '\0'));
    if (terminal) return terminal.show();
    // Found after a reload: running the task again attaches to the app (it is not started twice).
    const task = await this.workspaceTask();
    if (task) await vscode.tasks.executeTask(task);
  }
}

function appActions(tasks: Tasks, view: AppView) {
  return [
    ...(view.url
      ? [{ title: vscode.l10n.t('Open in Browser'), run: () => vscode.commands.executeCommand('rclone.openApp', view) }]
      : []),
    { title: vscode.l10n.t('Show Terminal'), run: () => tasks.showTerminal(view) },
  ];
}

/** Opens the app through VS Code's port forwarding: on Remote-SSH, 127.0.0.1:7860 is the box's. */
async function openInBrowser(svc: Services, v?: AppView): Promise<void> {
  const view = v ?? svc.apps.current;
  if (!view?.url) {
    svc.ui.notify('info', vscode.l10n.t('No app with a URL is running in this workspace.'));
    return;
  }
  const external = await vscode.env.asExternalUri(vscode.Uri.parse(view.url));
  await vscode.env.openExternal(external);
}

/** How long a closed app terminal waits to learn whether the whole window is going away. */
const WINDOW_CLOSING_MS = 1_000;

/** The running execution of our task labelled `label`. */
const executionOf = (label: string) =>
  vscode.tasks.taskExecutions.find((x) => x.task.name === label && x.task.definition.type === TASK_TYPE);

/** Which busy word the status bar shows for a step (link is instant: no word of its own). */
const BUSY: Record<Step, Busy> = {
  mount: 'mounting',
  copy: 'copying',
  warm: 'warming',
  link: 'warming',
  app: 'starting app',
};

/** One run of the task: its terminal, its cancellation, and stopping the app it started when closed. */
class BringUpTerminal implements vscode.Pseudoterminal {
  private readonly written = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.written.event;
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidClose = this.closed.event;
  private readonly run = new AbortController();
  private readonly follow = new AbortController();
  private up: BroughtUp | undefined;
  private done = false;

  constructor(
    private readonly svc: Services,
    private readonly steps: vscode.EventEmitter<StepEvent>,
    private readonly def: AppTask & { label: string },
    private readonly folder: vscode.WorkspaceFolder,
    private readonly origin: Origin,
  ) {}

  private line(text: string): void {
    this.written.fire(`${text.replace(/\r?\n/g, '\r\n')}\r\n`);
  }

  private step(step: Step | undefined, text: string, end?: StepEvent['end']): void {
    this.steps.fire({ label: this.def.label, step, text, end });
  }

  open(): void {
    void this.start();
  }

  private async start(): Promise<void> {
    const { svc, def } = this;
    const { settings } = svc;
    let plan;
    // A team task may use the team profile's mount profiles before they are approved as the
    // workspace's: its own question names what it mounts, and its approval covers the whole profile.
    const folder = this.folder.uri.fsPath;
    const profiles = settings.profiles;
    if (this.origin === 'team')
      for (const p of settings.teamProfiles(folder, false))
        if (!profiles.some((q) => q.mountPoint === p.mountPoint)) profiles.push(p);
    try {
      plan = planOf(def, folder, profiles, {
        mountRoot: settings.mountRoot,
        cacheMode: settings.defaultCacheMode,
        python: await workspacePython(this.folder),
      });
    } catch (e) {
      return this.fail(e);
    }
    const mp = plan.profile.mountPoint;
    if (this.origin !== 'offered' && !(await approveTask(svc, def, plan, this.origin))) {
      return this.fail(
        new RcloneError(
          'Cancelled',
          vscode.l10n.t('Task "{0}" was not allowed to run: nothing was mounted or started.', def.label),
        ),
      );
    }
    const view: AppView | undefined = plan.app && {
      label: def.label,
      cwd: plan.app.cwd,
      phase: 'starting',
      url: plan.app.readyUrl,
    };
    try {
      await svc.rclone(); // approval of the workspace's settings, and rclone found, before the first line
      this.up = await svc.whileBusy(mp, plan.profile.remote, 'mounting', () =>
        bringUp(
          plan,
          {
            line: (text) => {
              this.line(text);
              this.step(undefined, text);
            },
            progress: (step, text) => {
              svc.step(mp, BUSY[step], step === 'warm' || step === 'copy' ? text : undefined);
              if (step === 'app' && view) svc.apps.set({ ...view, execution: this.execution() });
              this.step(step, text);
            },
            output: (text) => this.written.fire(text.replace(/\r?\n/g, '\r\n')),
          },
          { registry: svc.registry, signal: this.run.signal, follow: this.follow.signal },
        ),
      );
    } catch (e) {
      return this.fail(e);
    }
    void svc.registry.refresh();
    void svc.models.refresh();
    void svc.outputs.track(plan); // copy mode: its output folders go up now and then
    const { app } = this.up;
    const kept = this.up.mount ? vscode.l10n.t('the mount stays') : vscode.l10n.t('the local copies stay');
    if (!app || !view) {
      this.step(undefined, vscode.l10n.t('storage is up'), 'ready');
      this.finish(0);
      return;
    }
    svc.apps.set({ ...view, phase: 'ready', record: app.record, port: app.record.port, execution: this.execution() });
    this.step(
      'app',
      app.url ? vscode.l10n.t('ready at {0}', app.url) : vscode.l10n.t('ready at pid {0}', app.record.pid),
      'ready',
    );
    svc.ui.notify(
      'info',
      app.url
        ? vscode.l10n.t('{0}: the app is ready at {1}.', def.label, app.url)
        : vscode.l10n.t('{0}: the app is ready.', def.label),
      app.url
        ? [{ title: vscode.l10n.t('Open in Browser'), run: () => openInBrowser(svc, { ...view, url: app.url }) }]
        : [],
    );
    const code = await app.exited;
    if (this.done) return;
    this.follow.abort();
    await app.following;
    // "rclone-devbox: " stays English in every language, like the lines the problem matcher keys on.
    const ended =
      code === null
        ? vscode.l10n.t('the app ended; {0}', kept)
        : vscode.l10n.t('the app ended with exit code {0}; {1}', code, kept);
    this.line(`rclone-devbox: ${ended}`);
    svc.apps.remove(view);
    void svc.outputs.flush(true); // what it wrote last
    this.finish(code ?? 1);
  }

  private execution(): vscode.TaskExecution | undefined {
    return executionOf(this.def.label);
  }

  private fail(e: unknown): void {
    if (this.done) return;
    for (const l of failureLines(e)) this.line(`\x1b[31m${l}\x1b[0m`);
    this.step(
      undefined,
      e instanceof Error ? e.message : String(e),
      isRcloneError(e, 'Cancelled') ? 'stopped' : 'failed',
    );
    if (!isRcloneError(e, 'Cancelled')) showFailure(this.svc, e);
    this.finish(1);
  }

  private finish(code: number): void {
    if (this.done) return;
    this.done = true;
    this.follow.abort();
    this.closed.fire(code);
  }

  /**
   * Stop (or the terminal closed): the app's whole process tree ends, the mount stays. Not when the
   * window reloads or closes: its terminals close too, but the app is meant to outlive the window.
   * Which it is, VS Code tells a moment later (a terminal closed with reason Shutdown, or
   * deactivate), hence the short wait; a host that is gone by then stops nothing.
   */
  close(): void {
    this.run.abort();
    this.follow.abort();
    const app = this.up?.app;
    this.done = true;
    if (!app) return;
    setTimeout(() => {
      if (this.svc.shuttingDown) return;
      void stopApp(app.record, this.svc.registry.stateDir).finally(() => {
        this.svc.apps.remove({ cwd: app.record.cwd, label: this.def.label });
        this.step('app', vscode.l10n.t('stopped'), 'stopped');
        void this.svc.outputs.flush(true); // copy mode: what it wrote last goes up
      });
    }, WINDOW_CLOSING_MS);
  }
}

/**
 * A task from a repository's tasks.json or team profile names what to mount and what to run: a
 * cloned repository must not do either just because the user ran "Bring Up" or a task that
 * depends on it. Asked once per definition (what it mounts, links and runs, where and with what
 * variables; for the team profile's, the whole mount profile it uses); a changed definition is
 * asked about again. The task offered for webui.py needs no question: it mounts only approved
 * profiles and runs the workspace's own webui.py.
 */
async function approveTask(
  svc: Services,
  def: AppTask,
  plan: BringUpPlan,
  origin: Exclude<Origin, 'offered'>,
): Promise<boolean> {
  const what = {
    mount: plan.profile.remote,
    mountPoint: plan.profile.mountPoint,
    links: plan.links,
    app: plan.app && { command: plan.app.command, cwd: plan.app.cwd, env: plan.app.env },
    // Kept out of a tasks.json task's: its approvals stay valid as they were.
    ...(origin === 'team' ? { team: plan.profile } : {}),
  };
  const key = `rclone.approvedTask.${createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32)}`;
  if (svc.context.globalState.get(key)) return true;
  const [label, remote, mountPoint] = [def.label ?? TASK_TYPE, plan.profile.remote, plan.profile.mountPoint];
  const question =
    origin === 'team'
      ? teamQuestion(label, plan)
      : plan.app
        ? vscode.l10n.t(
            'The task "{0}" in this workspace\'s tasks.json asks Rclone Dev Box to mount {1} on {2} and run `{3}` in {4}.',
            label,
            remote,
            mountPoint,
            plan.app.command.join(' '),
            plan.app.cwd,
          )
        : vscode.l10n.t(
            'The task "{0}" in this workspace\'s tasks.json asks Rclone Dev Box to mount {1} on {2}.',
            label,
            remote,
            mountPoint,
          );
  const ok = await svc.ui.confirm(
    question,
    vscode.l10n.t(
      'Allow it only if you trust this folder: what it names runs with your permissions. A changed task is asked about again.',
    ),
    vscode.l10n.t('Allow'),
  );
  if (ok) await svc.context.globalState.update(key, true);
  return ok;
}

/** The question before a team profile's task first runs: as for tasks.json, and the rclone flags its profile adds. */
function teamQuestion(label: string, plan: BringUpPlan): string {
  const { remote, mountPoint, extraFlags } = plan.profile;
  const mount = extraFlags?.length
    ? vscode.l10n.t('{0} on {1} (with the rclone flags `{2}`)', remote, mountPoint, extraFlags.join(' '))
    : vscode.l10n.t('{0} on {1}', remote, mountPoint);
  return plan.app
    ? vscode.l10n.t(
        'The task "{0}" in this repository\'s team profile ({1}) asks Rclone Dev Box to mount {2} and run `{3}` in {4}.',
        label,
        TEAM_PROFILE,
        mount,
        plan.app.command.join(' '),
        plan.app.cwd,
      )
    : vscode.l10n.t(
        'The task "{0}" in this repository\'s team profile ({1}) asks Rclone Dev Box to mount {2}.',
        label,
        TEAM_PROFILE,
        mount,
      );
}

/**
 * The Python extension's selected interpreter for `folder`, when that extension is installed and
 * says one (an absolute path); undefined otherwise (core then tries .venv/bin/python, then python3).
 */
async function workspacePython(folder: vscode.WorkspaceFolder): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonApi>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await withTimeout(ext.activate(), 5_000);
    const env = api?.environments?.getActiveEnvironmentPath(folder.uri);
    const resolved = env && (await withTimeout(api!.environments!.resolveEnvironment(env), 5_000));
    const path = resolved?.executable?.uri?.fsPath ?? env?.path;
    return path && isAbsolute(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The part of the Python extension's API used here (its `environments` API). */
interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(env: { id: string; path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
}

const withTimeout = <T>(p: Thenable<T>, ms: number): Promise<T | undefined> =>
  Promise.race([Promise.resolve(p), new Promise<undefined>((done) => setTimeout(() => done(undefined), ms).unref())]);
