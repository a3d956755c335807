// Running a UI walk as named steps (the UI smoke test, the demo's smoke run): each step bounded by
// its timeout and by the window's death; the first failure stops the walk and is reported with
// what the status bar said and a screenshot.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Report, TestResult } from '../integration/report';
import type { Locator, Page } from './playwright';

export type Step = [name: string, timeoutMs: number, fn: () => Promise<void>];

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Matches an element whose whole text is `label` (VS Code pads labels with whitespace sometimes). */
export const exactly = (label: string) => new RegExp(`^\\s*${escapeRe(label)}\\s*$`);

/** A row of the side bar's trees (the Rclone view), by its label. */
export const sideBarRow = (page: Page, label: string): Locator =>
  page
    .locator('.part.sidebar .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exactly(label) }) });

export const quickInputBox = (page: Page): Locator => page.locator('.quick-input-widget .quick-input-box input');

/** A row of the open quick pick, by its label. */
export const quickPickRow = (page: Page, label: string | RegExp): Locator =>
  page
    .locator('.quick-input-widget .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: typeof label === 'string' ? exactly(label) : label }) });

/**
 * F1, `typed` in the palette, the row whose label matches clicked. The box is filled with ">typed"
 * rather than typed into (keys typed while the palette is still opening can be lost), and if the
 * row does not show, the palette is closed and opened again once.
 */
export async function runCommand(page: Page, typed: string, label: string | RegExp): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    const box = quickInputBox(page);
    await box.waitFor({ state: 'visible', timeout: 10_000 });
    await box.fill(`>${typed}`, { timeout: 5_000 });
    try {
      await quickPickRow(page, label)
        .first()
        .click({ timeout: attempt === 1 ? 10_000 : 15_000 });
      return;
    } catch (e) {
      if (attempt === 2) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/** Polls `cond` every 200 ms until it holds, or fails after `timeoutMs` naming `what`. */
export async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Walk {
  suite: string;
  /** Why the window died, if it did (checked while a step runs). */
  problem: () => string | undefined;
  failureScreenshot: string;
}

/** The texts of the status bar's items, as a user reads them. */
export async function statusBarTexts(page: Page): Promise<string[]> {
  return (await page.locator('.statusbar-item').allTextContents())
    .map((t) => t.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

/** `page.evaluate` with a source string (the typed Page in playwright.ts leaves it out; tsc has no DOM types here). */
const evaluate = <T>(page: Page, expression: string): Promise<T> =>
  (page as Page & { evaluate(expression: string): Promise<T> }).evaluate(expression);

/**
 * Starts recording every accessible label the status bar's items get that starts with `prefix`,
 * in order, even one replaced within the same task (a MutationObserver keeps each old value):
 * a state shown for a few milliseconds is not missed, as it may be by polling.
 */
export async function recordStatusBar(page: Page, prefix: string): Promise<void> {
  await evaluate(
    page,
    `(() => {
      const prefix = ${JSON.stringify(prefix)};
      const seen = (window.__rcloneStatusSeen = []);
      window.__rcloneStatusObserver?.disconnect();
      const note = (label) => {
        if (typeof label === 'string' && label.startsWith(prefix) && seen.at(-1) !== label.slice(prefix.length))
          seen.push(label.slice(prefix.length));
      };
      const part = document.querySelector('.part.statusbar');
      for (const el of part.querySelectorAll('[aria-label]')) note(el.getAttribute('aria-label'));
      window.__rcloneStatusObserver = new MutationObserver((records) => {
        for (const r of records) {
          if (r.type === 'attributes') note(r.oldValue);
          for (const n of r.addedNodes)
            if (n.nodeType === 1) for (const el of [n, ...n.querySelectorAll('[aria-label]')]) note(el.getAttribute('aria-label'));
        }
        for (const el of part.querySelectorAll('[aria-label]')) note(el.getAttribute('aria-label'));
      });
      window.__rcloneStatusObserver.observe(part, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['aria-label'],
        attributeOldValue: true,
      });
    })()`,
  );
}

/** What recordStatusBar saw so far (the text after the prefix), oldest first. */
export const recordedStatusBar = (page: Page): Promise<string[]> =>
  evaluate<string[]>(page, '[...(window.__rcloneStatusSeen ?? [])]');

async function runStep(timeoutMs: number, fn: () => Promise<void>, problem: () => string | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, fail) => {
    const deadline = Date.now() + timeoutMs + 5_000; // the step's own waits come first; this catches a hung call
    timer = setInterval(() => {
      const dead = problem();
      if (dead) fail(new Error(dead));
      else if (Date.now() > deadline) fail(new Error(`step did not finish within ${timeoutMs / 1000} s`));
    }, 250);
  });
  try {
    await Promise.race([fn(), watchdog]);
  } finally {
    clearInterval(timer);
  }
}

// eslint-disable-next-line no-control-regex -- Playwright colours its messages; the escape is what is removed
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

export async function walk(page: Page, steps: readonly Step[], w: Walk): Promise<Report> {
  const tests: TestResult[] = [];
  for (const [name, timeoutMs, fn] of steps) {
    const start = Date.now();
    try {
      await runStep(timeoutMs, fn, w.problem);
      tests.push({ suite: w.suite, name, ok: true, ms: Date.now() - start });
    } catch (e) {
      const err = e as Error;
      const status = await statusBarTexts(page).catch(() => []);
      const first = plain(err.message.split('\n')[0] ?? '');
      const message = `step "${name}" failed: ${first}\n  status bar: ${JSON.stringify(status)}\n  screenshot: ${w.failureScreenshot}`;
      const error = { message, ...(err.stack ? { stack: plain(err.stack) } : {}) };
      tests.push({ suite: w.suite, name, ok: false, ms: Date.now() - start, error });
      mkdirSync(dirname(w.failureScreenshot), { recursive: true });
      await page.screenshot({ path: w.failureScreenshot, timeout: 10_000 }).catch(() => undefined);
      break;
    }
  }
  const passed = tests.filter((t) => t.ok).length;
  return { passed, failed: tests.length - passed, tests };
}
