// Wiring only: build the services, hand them to each surface, return. No process is spawned here:
// rclone is found on first use, and mount state is read from files.
import * as vscode from 'vscode';
import { useBundle } from './core/locale';
import * as expiry from './vscode/expiry';
import * as outputs from './vscode/outputs';
import * as install from './vscode/install';
import * as linkCommands from './vscode/linkCommands';
import * as mountCommands from './vscode/mountCommands';
import * as permissions from './vscode/permissions';
import * as remoteCommands from './vscode/remoteCommands';
import * as remotesView from './vscode/remotesView';
import { Services } from './vscode/services';
import * as statusBar from './vscode/statusBar';
import * as tasks from './vscode/tasks';
import * as teamProfile from './vscode/teamProfile';
import * as walkthrough from './vscode/walkthrough';
import * as warmCommands from './vscode/warmCommands';

let onExit: (() => Promise<void>) | undefined;

export function activate(context: vscode.ExtensionContext) {
  const started = performance.now();
  useBundle(vscode.l10n.bundle); // core's messages in the editor's language
  const svc = new Services(context);
  const surfaces = {
    remotes: remotesView.register(svc),
    mounts: mountCommands.register(svc),
    remoteCommands: remoteCommands.register(svc),
    statusBar: statusBar.register(svc),
    warm: warmCommands.register(svc),
    links: linkCommands.register(svc),
    permissions: permissions.register(svc),
    expiry: expiry.register(svc),
    outputs: outputs.register(svc),
    install: install.register(svc),
    tasks: tasks.register(svc),
    team: teamProfile.register(svc),
    walkthrough: walkthrough.register(svc),
  };
  // Surfaces first: they let go of the services they use, which go last.
  context.subscriptions.push(vscode.Disposable.from(...Object.values(surfaces), svc.registry.watch(), svc));
  // After activation has returned: the first look at mount state, then auto-mount if asked for.
  const { mounts } = surfaces;
  const afterStartup = () =>
    svc.registry.refresh().then(() => Promise.all([svc.models.refresh(), svc.apps.refresh(), mounts.autoMount()]));
  setTimeout(() => void afterStartup().catch((e: Error) => svc.log.warn(e.message)), 0);
  onExit = () => {
    svc.shuttingDown = true; // a reload: the app keeps running, the next window finds it
    return mounts.unmountStarted();
  };
  const activationMs = performance.now() - started;
  svc.log.info(`Activated in ${activationMs.toFixed(1)} ms.`);
  // What the integration tests drive (the same objects the commands use); nothing for users.
  return context.extensionMode === vscode.ExtensionMode.Production ? undefined : { svc, ...surfaces, activationMs };
}

export type TestApi = NonNullable<ReturnType<typeof activate>>;

export async function deactivate(): Promise<void> {
  await onExit?.();
}
