// Wiring only: build the services, hand them to each surface, return. No process is spawned here.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Rclone Dev Box', { log: true });
  context.subscriptions.push(log);
}

export function deactivate(): void {}
