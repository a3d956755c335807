// Everything that asks the person at the keyboard something or tells them something goes through
// `Ui`, so commands read as plain steps. The window implementation is the real one; the
// integration tests swap in scripted answers only for these questions (see test/integration).
import * as vscode from 'vscode';

export interface Action {
  title: string;
  run(): unknown;
}

export type Level = 'info' | 'warning' | 'error';

export interface Ui {
  pick<T extends vscode.QuickPickItem>(
    items: readonly T[] | Thenable<readonly T[]>,
    options: vscode.QuickPickOptions,
  ): Promise<T | undefined>;
  input(options: vscode.InputBoxOptions): Promise<string | undefined>;
  /** A modal question with one action besides Cancel. */
  confirm(message: string, detail: string, action: string): Promise<boolean>;
  /** A notification with buttons; never waits for the user (commands return at once). */
  notify(level: Level, message: string, actions?: readonly Action[]): void;
}

export const windowUi: Ui = {
  async pick(items, options) {
    return vscode.window.showQuickPick(items, { ignoreFocusOut: true, ...options });
  },
  async input(options) {
    return vscode.window.showInputBox({ ignoreFocusOut: true, ...options });
  },
  async confirm(message, detail, action) {
    return (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action;
  },
  notify(level, message, actions = []) {
    const show = {
      info: vscode.window.showInformationMessage,
      warning: vscode.window.showWarningMessage,
      error: vscode.window.showErrorMessage,
    }[level];
    // A button's action mostly runs a command (which reports its own failures); anything else it
    // throws is still shown, never left as an unhandled rejection.
    void show(message, ...actions.map((a) => a.title))
      .then(async (title) => actions.find((a) => a.title === title)?.run())
      .then(undefined, (e: unknown) =>
        show(vscode.l10n.t('Rclone Dev Box: {0}', e instanceof Error ? e.message : String(e))),
      );
  },
};
