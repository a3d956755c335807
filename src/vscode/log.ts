// The extension's log: a LogOutputChannel ("Rclone Dev Box" in the Output view) that scrubs
// secrets from every line, including the ones typed into this window (a new key being added).
import * as vscode from 'vscode';
import { redact } from '../core/errors';
import type { Logger } from '../core/events';

export class Log implements Logger, vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel('Rclone Dev Box', { log: true });
  private readonly secrets = new Set<string>();

  /** Never let this value appear in the log, whatever logs it. */
  forget(secret: string): void {
    if (secret) this.secrets.add(secret);
  }

  private clean(message: string): string {
    return redact(message, [...this.secrets]);
  }

  info(message: string): void {
    this.channel.info(this.clean(message));
  }

  warn(message: string): void {
    this.channel.warn(this.clean(message));
  }

  error(message: string): void {
    this.channel.error(this.clean(message));
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}

/**
 * Opens a mount's rclone log with the cursor on its last line: the file holds every earlier mount
 * of the same mount point too, and the latest lines are the ones asked about.
 */
export async function showLogFile(file: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  await vscode.window.showTextDocument(doc, { preview: true, selection: new vscode.Range(end, end) });
}
