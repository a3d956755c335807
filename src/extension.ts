// Wiring only: build the services, hand them to each surface, return. No process is spawned here:
// rclone is found on first use, and mount state is read from files.
import * as vscode from 'vscode';
import { MountCommands } from './vscode/mountCommands';
import { registerRemoteCommands } from './vscode/remoteCommands';
import { registerRemotesView } from './vscode/remotesView';
import { Services } from './vscode/services';
import { MountStatusBar } from './vscode/statusBar';

let onExit: (() => Promise<void>) | undefined;

export function activate(context: vscode.ExtensionContext) {
  const started = performance.now();
  const svc = new Services(context);
  const remotes = registerRemotesView(svc, context.subscriptions);
  const mounts = new MountCommands(svc);
  mounts.register(context.subscriptions);
  registerRemoteCommands(svc, context.subscriptions);
  const statusBar = new MountStatusBar(svc, mounts);
  context.subscriptions.push(statusBar, svc.registry.watch(), svc);
  // After activation has returned: the first look at mount state, then auto-mount if asked for.
  setTimeout(
    () =>
      void svc.registry
        .refresh()
        .then(() => mounts.autoMount())
        .catch((e: Error) => svc.log.warn(e.message)),
    0,
  );
  onExit = () => mounts.unmountStarted();
  const activationMs = performance.now() - started;
  svc.log.info(`Activated in ${activationMs.toFixed(1)} ms.`);
  // What the integration tests drive (the same objects the commands use); nothing for users.
  return context.extensionMode === vscode.ExtensionMode.Production
    ? undefined
    : { svc, remotes, mounts, statusBar, activationMs };
}

export type TestApi = NonNullable<ReturnType<typeof activate>>;

export async function deactivate(): Promise<void> {
  await onExit?.();
}
