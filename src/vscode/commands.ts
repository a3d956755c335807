// One wrapper every command is registered through: whatever a command throws, sync or async, the
// user sees it as a notification (never a raw stack trace) and the caller gets undefined (never a
// rejection: menus, buttons and the status bar start commands without waiting for them).
import * as vscode from 'vscode';
import { showFailure } from './failures';
import type { Services } from './services';

/**
 * Registers `run` as the command `id`. Its arguments are whatever the caller passed (a tree row, a
 * mount point from a button, nothing from the palette): `run` declares what it expects, unchecked.
 */
export function command(svc: Services, id: string, run: (...args: never[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await (run as (...args: unknown[]) => unknown)(...args);
    } catch (e) {
      showFailure(svc, e);
      return undefined;
    }
  });
}
