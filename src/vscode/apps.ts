// What the status bar shows of the workspace's app (webui.py): starting, or ready at its URL. Fed
// by the bring-up task while it runs in this window, and by the app records every window and the
// CLI share (core/app.ts), so a reloaded window finds an app that still runs, by pid and port,
// instead of starting a second copy. Reading them is a few /proc and file reads; nothing is spawned.
import * as vscode from 'vscode';
import { type AppRecord, findApps, stopApp } from '../core/app';
import type { Services } from './services';

export interface AppView {
  /** The task's label: one app per label and folder. */
  label: string;
  cwd: string;
  phase: 'starting' | 'ready';
  url?: string;
  port?: number;
  record?: AppRecord;
  /** The task running it in this window (absent for an app found after a reload or started by the CLI). */
  execution?: vscode.TaskExecution;
}

const keyOf = (v: Pick<AppView, 'cwd' | 'label'>) => `${v.cwd}\0${v.label}`;

export class AppState implements vscode.Disposable {
  private readonly views = new Map<string, AppView>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly svc: Services) {}

  /** The workspace's apps, the first folder's first. */
  get all(): AppView[] {
    return [...this.views.values()];
  }

  /** The app the status bar shows. */
  get current(): AppView | undefined {
    return this.all.find((v) => v.phase === 'ready') ?? this.all[0];
  }

  find(cwd: string, label: string): AppView | undefined {
    return this.views.get(keyOf({ cwd, label }));
  }

  /** A bring-up in this window says where its app is. */
  set(view: AppView): void {
    this.views.set(keyOf(view), view);
    this.changed.fire();
  }

  remove(view: Pick<AppView, 'cwd' | 'label'>): void {
    if (this.views.delete(keyOf(view))) this.changed.fire();
  }

  /**
   * Reads the app records of this workspace's folders: apps still running (the same process, by
   * its start time) are shown, those gone are forgotten. Polled every few seconds while any is known.
   */
  async refresh(): Promise<void> {
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const under = (cwd: string) => folders.some((f) => cwd === f || cwd.startsWith(`${f}/`));
    const running = (await findApps(this.svc.registry.stateDir)).filter((r) => under(r.cwd));
    let changed = false;
    for (const r of running) {
      const known = this.find(r.cwd, r.label ?? '');
      if (known?.execution) continue; // this window's task says how it is
      const phase = r.listening || !r.port ? 'ready' : 'starting';
      if (known?.phase === phase && known.record?.pid === r.pid) continue;
      this.views.set(keyOf({ cwd: r.cwd, label: r.label ?? '' }), {
        label: r.label ?? '',
        cwd: r.cwd,
        phase,
        url: r.url,
        port: r.port,
        record: r,
      });
      changed = true;
    }
    for (const [key, v] of this.views) {
      if (v.execution || running.some((r) => r.pid === v.record?.pid)) continue;
      this.views.delete(key);
      changed = true;
    }
    if (changed) this.changed.fire();
    this.poll();
  }

  private poll(): void {
    clearTimeout(this.timer);
    if (!this.views.size) return;
    this.timer = setTimeout(
      () => void this.refresh().catch((e: Error) => this.svc.log.warn(`App state: ${e.message}`)),
      3_000,
    );
    this.timer.unref();
  }

  /** Stops an app: through its task when this window runs it (the terminal says so), else by its pid. */
  async stop(view: AppView): Promise<void> {
    if (view.execution) {
      view.execution.terminate();
      return;
    }
    if (view.record) await stopApp(view.record, this.svc.registry.stateDir);
    this.remove(view);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
  }
}
