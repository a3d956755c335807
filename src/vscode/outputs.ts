// Copy mode's output folders in the editor: what the app writes to `./outputs` (a local folder
// when the bring-up copied rather than mounted) goes up with `rclone copy` every `uploadEvery`, on
// "Rclone: Upload Outputs", and when the app stops. The status bar counts what is pending; the
// count is read from disk (a manifest of what was uploaded), so it survives a reload and is the
// same for every window and the CLI: nothing written is dropped silently.
import * as vscode from 'vscode';
import { type BringUpPlan, copyOutputsOf, planOf } from '../core/bringup';
import { OutputUploads } from '../core/localCopy';
import { readWorkspace } from '../core/workspace';
import { command } from './commands';
import { showFailure } from './failures';
import type { Services } from './services';

/** How often the pending count is read again while there are output folders. */
const POLL_MS = 5_000;

export class OutputsState implements vscode.Disposable {
  private uploads: OutputUploads | undefined;
  private poll: NodeJS.Timeout | undefined;
  /** Files written or changed since their last upload, in every output folder (0: none, or no copy mode). */
  pending = 0;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly svc: Services) {}

  /** Output folders being uploaded, local → remote. */
  get outputs(): ReadonlyArray<{ local: string; remote: string }> {
    return this.uploads?.outputs ?? [];
  }

  /** Uploads `plan`'s output folders (if the bring-up made them local) every uploadEvery from now on. */
  async track(plan: BringUpPlan): Promise<void> {
    const outputs = await copyOutputsOf(plan);
    if (!outputs.length) return;
    this.uploads?.dispose();
    this.uploads = new OutputUploads(await this.svc.rclone(), outputs, this.svc.registry.stateDir);
    this.uploads.every(plan.uploadEveryMs, (e) =>
      this.svc.log.warn(`Uploading outputs failed; tried again later: ${(e as Error).message}`),
    );
    clearInterval(this.poll);
    this.poll = setInterval(() => void this.count(), POLL_MS);
    await this.count();
  }

  /** Finds the output folders of the workspace's tasks that are local now (a window opened after a bring-up). */
  async discover(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder || this.uploads) return;
    const def = await readWorkspace(folder).catch(() => undefined);
    for (const task of def?.tasks ?? []) {
      try {
        const plan = planOf(task, folder, [...def!.profiles, ...this.svc.settings.profiles], {
          mountRoot: this.svc.settings.mountRoot,
        });
        await this.track(plan);
        if (this.uploads) return;
      } catch {
        // a task that does not resolve has no outputs to count
      }
    }
  }

  private async count(): Promise<void> {
    const n = (await this.uploads?.pending().catch(() => undefined)) ?? this.pending;
    if (n === this.pending) return;
    this.pending = n;
    this.changed.fire();
  }

  /** Uploads what is pending now, with a notification; says how many, or why not and how many are left. */
  async flush(quiet = false): Promise<void> {
    const { uploads } = this;
    if (!uploads) {
      if (!quiet)
        this.svc.ui.notify(
          'info',
          vscode.l10n.t('No output folders to upload: they are local folders only after a bring-up in copy mode.'),
        );
      return;
    }
    try {
      const n = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('Uploading outputs…'),
          cancellable: true,
        },
        (_p, token) => {
          const stop = new AbortController();
          token.onCancellationRequested(() => stop.abort());
          return uploads.flush({ signal: stop.signal });
        },
      );
      if (!quiet || n)
        this.svc.ui.notify(
          'info',
          n === 1
            ? vscode.l10n.t('Uploaded 1 output file to {0}.', uploads.outputs.map((o) => o.remote).join(', '))
            : vscode.l10n.t('Uploaded {0} output files to {1}.', n, uploads.outputs.map((o) => o.remote).join(', ')),
        );
    } catch (e) {
      showFailure(this.svc, e, {}, [{ title: vscode.l10n.t('Upload Outputs'), run: () => this.flush() }]);
    } finally {
      await this.count();
    }
  }

  dispose(): void {
    this.uploads?.dispose();
    clearInterval(this.poll);
    this.changed.dispose();
  }
}

export function register(svc: Services): vscode.Disposable {
  setTimeout(() => void svc.outputs.discover(), 0); // after activation, never during it
  return command(svc, 'rclone.uploadOutputs', () => svc.outputs.flush());
}
