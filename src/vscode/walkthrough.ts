// The "Get Started with Rclone Dev Box" walkthrough's progress: context keys its steps complete on
// (package.json's completionEvents), kept true to what the box has. Install rclone and Add a remote
// complete on `rclone.state` (set by the tree); the rest on the keys set here, each once it holds:
// a live mount of ours, the workspace's model link pointing into one, an app of ours answering.
import * as vscode from 'vscode';
import type { Services } from './services';

type Key = 'rclone.hasMount' | 'rclone.modelLinked' | 'rclone.appReady';

export function register(svc: Services): vscode.Disposable {
  const shown = new Map<string, boolean>();
  const set = (key: Key, value: boolean) => {
    if (shown.get(key) === value) return;
    shown.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  };
  const update = () => {
    const live = svc.registry.mounts.filter((m) => m.state === 'mounted' && !m.external);
    set('rclone.hasMount', live.length > 0);
    set(
      'rclone.modelLinked',
      live.some((m) => svc.models.linkedIn(m.mountPoint) !== undefined),
    );
    set(
      'rclone.appReady',
      svc.apps.all.some((a) => a.phase === 'ready'),
    );
  };
  update();
  return vscode.Disposable.from(
    svc.registry.onDidChange(update),
    svc.models.onDidChange(update),
    svc.apps.onDidChange(update),
  );
}
