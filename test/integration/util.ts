// Helpers for the suites that run inside the extension host: the extension's test API, bounded
// waits, settings that are put back, and scripted answers for the person at the keyboard.
import { dirname, join } from 'node:path';
import type * as vscodeTypes from 'vscode';
import * as vscode from 'vscode';
import type { TestApi } from '../../src/extension';
import type { Mount } from '../../src/core/mounts';
import type { Node } from '../../src/vscode/nodes';
import type { Action, Level, Ui } from '../../src/vscode/ui';
import { boxInfo } from './boxInfo';

export const EXTENSION_ID = 'rclone-devbox.rclone-devbox';

export async function api(): Promise<TestApi> {
  const ext = vscode.extensions.getExtension<TestApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded`);
  const exported = await ext.activate();
  if (!exported) throw new Error('The extension exported no test API (it runs in Production mode?)');
  return exported;
}

/**
 * The mounts of this test box (under its mount root). A real box has other rclone mounts, of other
 * tools and users, even of a bucket with the same name: a suite looks only at its own.
 */
export function ownMounts(mounts: readonly Mount[]): Mount[] {
  const root = `${boxInfo().mountRoot}/`;
  return mounts.filter((m) => m.mountPoint.startsWith(root));
}

/** A VFS cache dir of its own for a test mount profile: in the box's cache folder, never ~/.cache/rclone. */
export function cacheDir(name: string): string {
  return join(dirname(boxInfo().mountRoot), 'cache', name); // box.ts lays out the box as <dir>/{mnt,cache,…}
}

/** Polls `probe` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/**
 * Sets `rclone.<key>` in the workspace's settings, or with `ConfigurationTarget.Global` in the user's
 * own (in a remote window VS Code writes machine-scoped ones to the remote's machine settings); the
 * returned function puts the old value back. A workspace's rclone.mounts, autoMount, configFile and
 * path wait for the user's approval; the user's own take effect at once.
 */
export async function setSetting(
  key: string,
  value: unknown,
  target: vscode.ConfigurationTarget.Workspace | vscode.ConfigurationTarget.Global = vscode.ConfigurationTarget
    .Workspace,
): Promise<() => Promise<void>> {
  const config = vscode.workspace.getConfiguration('rclone');
  const inspected = config.inspect(key);
  const before = target === vscode.ConfigurationTarget.Global ? inspected?.globalValue : inspected?.workspaceValue;
  await config.update(key, value, target);
  return async () => {
    await vscode.workspace.getConfiguration('rclone').update(key, before, target);
  };
}

export interface Asked {
  kind: 'pick' | 'input' | 'confirm';
  title?: string;
  prompt?: string;
  value?: string;
  password?: boolean;
  items?: string[];
  /** The picks' item descriptions, in the order of `items`. */
  descriptions?: string[];
}

export interface Note {
  level: Level;
  message: string;
  actions: string[];
}

/** A pick's item by its label and a description that matches (rows of the same name, e.g. a version on a mount and a local copy). */
interface Described {
  label: string;
  description: RegExp;
}

type Answer = string | boolean | undefined | Described | ((asked: Asked) => string | boolean | undefined);

/**
 * Stands in for the person at the keyboard (a named fake: quick picks and input boxes cannot be
 * typed into from the extension host). Answers are consumed in order; an input answer is checked
 * with the box's own validateInput, as the real box would. Notifications are recorded, not shown.
 */
export class ScriptedUi implements Ui {
  readonly asked: Asked[] = [];
  readonly notes: Note[] = [];
  private readonly actions = new Map<string, Action[]>();

  constructor(private readonly answers: Answer[] = []) {}

  answer(...more: Answer[]): this {
    this.answers.push(...more);
    return this;
  }

  private next(asked: Asked): string | boolean | undefined | Described {
    this.asked.push(asked);
    if (!this.answers.length) throw new Error(`Unexpected question: ${JSON.stringify(asked)}`);
    const a = this.answers.shift();
    return typeof a === 'function' ? a(asked) : a;
  }

  async pick<T extends vscodeTypes.QuickPickItem>(
    items: readonly T[] | Thenable<readonly T[]>,
    options: vscodeTypes.QuickPickOptions,
  ): Promise<T | undefined> {
    const list = await items;
    const answer = this.next({
      kind: 'pick',
      title: options.title,
      items: list.map((i) => i.label),
      descriptions: list.map((i) => i.description ?? ''),
    });
    if (answer === undefined) return undefined;
    const label = typeof answer === 'object' ? answer.label : answer;
    const found = list.find(
      (i) => i.label === label && (typeof answer !== 'object' || answer.description.test(i.description ?? '')),
    );
    if (!found)
      throw new Error(
        `No item "${String(label)}" in the pick "${options.title}": ${list.map((i) => i.label).join(', ')}`,
      );
    return found;
  }

  async input(options: vscodeTypes.InputBoxOptions): Promise<string | undefined> {
    const answer = this.next({
      kind: 'input',
      title: options.title,
      prompt: options.prompt,
      value: options.value,
      password: options.password,
    });
    if (answer === undefined) return undefined;
    const text = String(answer);
    const invalid = await options.validateInput?.(text);
    if (invalid)
      throw new Error(
        `The input box "${options.title}" refused "${text}": ${typeof invalid === 'string' ? invalid : invalid.message}`,
      );
    return text;
  }

  async confirm(message: string, _detail: string, action: string): Promise<boolean> {
    return this.next({ kind: 'confirm', title: message, items: [action] }) === true;
  }

  notify(level: Level, message: string, actions: readonly Action[] = []): void {
    this.notes.push({ level, message, actions: actions.map((a) => a.title) });
    this.actions.set(message, [...actions]);
  }

  /** Presses a button of a recorded notification. */
  async press(message: string, title: string): Promise<unknown> {
    const action = this.actions.get(message)?.find((a) => a.title === title);
    if (!action) throw new Error(`No button "${title}" on "${message}"`);
    return action.run();
  }

  errors(): Note[] {
    return this.notes.filter((n) => n.level === 'error');
  }
}

/** Installs `ui` for the duration of `work`, then the window's own again. */
export async function withUi<T>(ui: ScriptedUi, work: () => Thenable<T>): Promise<T> {
  const { svc } = await api();
  const before = svc.ui;
  svc.ui = ui;
  try {
    return await work();
  } finally {
    svc.ui = before;
  }
}

export const labelOf = (item: vscode.TreeItem) =>
  typeof item.label === 'string' ? item.label : (item.label?.label ?? '');

export async function rows(node?: Node): Promise<{ node: Node; item: vscode.TreeItem; label: string }[]> {
  const { tree } = (await api()).remotes;
  const nodes = await tree.getChildren(node);
  return nodes.map((n) => {
    const item = tree.getTreeItem(n);
    return { node: n, item, label: labelOf(item) };
  });
}

/** The row at `labels` (e.g. ["s3", "index-tts-data", "cache_hub"]), expanding along the way. */
export async function rowAt(...labels: string[]): Promise<{ node: Node; item: vscode.TreeItem; label: string }> {
  let parent: Node | undefined;
  let found: Awaited<ReturnType<typeof rows>>[number] | undefined;
  for (const l of labels) {
    const list = await rows(parent);
    found = list.find((r) => r.label === l);
    if (!found)
      throw new Error(
        `No row "${l}" under ${labels.slice(0, labels.indexOf(l)).join(' › ') || 'the root'}: ${list.map((r) => r.label).join(', ')}`,
      );
    parent = found.node;
  }
  return found!;
}
