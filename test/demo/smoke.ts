// `npm start -- --smoke`: the demo's tour, driven through the real web UI by Playwright, so the demo
// cannot rot: the status bar follows the profile, the tree lists the bucket, F1 "Rclone: Mount…"
// mounts it, the status bar says "mounted", a file opens from the mount, "Rclone: Unmount" ends it.
// What the UI shows is checked against the machine too (mountinfo, the bytes read through the mount).
// Every step is bounded; the first failing one ends the run, is named, and leaves a screenshot.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readRcloneMounts } from '../../src/core/mountinfo';
import type { Report } from '../integration/report';
import type { Page } from '../ui/playwright';
import { quickPickRow, runCommand, sideBarRow, type Step, waitUntil, walk } from '../ui/steps';
import { BUCKET, MODEL_FILE, REMOTE, SAMPLE_FILE } from './world';

export interface SmokeOptions {
  mountPoint: string;
  /** MODEL_FILE's bytes as uploaded. */
  model: Buffer;
  failureScreenshot: string;
  /** Where the screenshot of the mounted bucket with a file open from it goes. */
  screenshot: string;
  /** Why the window is gone (server exited, page crashed), to stop waiting at once. */
  problem(): string | undefined;
}

/** Our status bar item (its accessible label is "Rclone mount <mount point>: <state>"): state and text. */
async function indicator(page: Page, mountPoint: string): Promise<{ state: string; text: string } | undefined> {
  const prefix = `Rclone mount ${mountPoint}: `;
  const item = page.locator(`.part.statusbar .statusbar-item[aria-label^=${JSON.stringify(prefix)}]`).first();
  if (!(await item.count())) return undefined;
  const label = await item.getAttribute('aria-label', { timeout: 2_000 }).catch(() => null); // gone meanwhile
  const text = await item.textContent({ timeout: 2_000 }).catch(() => null);
  return label === null
    ? undefined
    : { state: label.slice(prefix.length), text: (text ?? '').replace(/\s+/g, ' ').trim() };
}

/** "mounted", "demo: mounted" say "mounted"; "not mounted" does not. */
function textSays(text: string, state: string): boolean {
  if (!text.endsWith(state)) return false;
  const before = text.slice(0, -state.length);
  return (before === '' || /[\s:]$/.test(before)) && !(state === 'mounted' && /\bnot\s*$/.test(before));
}

const statusIs = (page: Page, mountPoint: string, state: string, timeoutMs: number) =>
  waitUntil(
    async () => {
      const i = await indicator(page, mountPoint);
      // Its visible text says so too: "$(cloud) mounted" renders as an icon (no text) and "mounted".
      return i?.state === state && textSays(i.text, state);
    },
    timeoutMs,
    `the status bar item of ${mountPoint} to say "${state}"`,
  );

async function expand(page: Page, label: string): Promise<void> {
  // Only rows with children have aria-expanded: the folder cache_hub_v23, not its "Model versions" row.
  const row = sideBarRow(page, label).and(page.locator('[aria-expanded]')).first();
  await row.waitFor({ state: 'visible', timeout: 20_000 });
  if ((await row.getAttribute('aria-expanded')) !== 'true')
    await row.locator('.monaco-tl-twistie').click({ timeout: 5_000 });
}

const mounted = async (mountPoint: string) => (await readRcloneMounts()).some((m) => m.mountPoint === mountPoint);

/** With a wider side bar, so that the bucket row shows its whole mount point. */
async function screenshot(page: Page, file: string): Promise<void> {
  const bar = await page.locator('.part.sidebar').boundingBox();
  if (bar) {
    const x = bar.x + bar.width + 1;
    const y = bar.y + bar.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + 200, y, { steps: 5 });
    await page.mouse.up();
    await page.mouse.move(x + 600, bar.y + bar.height - 20); // off the sash, drawn highlighted under the pointer
    await waitUntil(
      async () => (await page.locator('.monaco-sash.hover, .monaco-sash.active').count()) === 0,
      5_000,
      'the sash highlight to fade',
    ).catch(() => undefined);
  }
  mkdirSync(dirname(file), { recursive: true });
  await page.screenshot({ path: file, timeout: 15_000 });
}

function steps(page: Page, o: SmokeOptions): Step[] {
  const pick = `${REMOTE}:${BUCKET}`;
  return [
    [
      'the workbench is up',
      60_000,
      () => page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: 60_000 }),
    ],
    [
      'the status bar follows the mount profile: "not mounted"',
      30_000,
      () => statusIs(page, o.mountPoint, 'not mounted', 30_000),
    ],
    [
      `the Rclone view lists ${REMOTE} → ${BUCKET} → cache_hub_v23`,
      45_000,
      async () => {
        await page.locator('.part.activitybar .action-item a[aria-label^="Rclone"]').first().click({ timeout: 15_000 });
        await expand(page, REMOTE);
        await expand(page, BUCKET);
        await sideBarRow(page, 'cache_hub_v23').first().waitFor({ state: 'visible', timeout: 20_000 });
      },
    ],
    [
      `F1 "Rclone: Mount…", pick ${pick}`,
      40_000,
      async () => {
        await runCommand(page, 'Rclone: Mount', 'Rclone: Mount…');
        await quickPickRow(page, pick).first().waitFor({ state: 'visible', timeout: 20_000 });
        await page.keyboard.type(pick);
        // Enter takes the focused row: make sure filtering put ours there.
        await quickPickRow(page, pick)
          .and(page.locator('.focused'))
          .first()
          .waitFor({ state: 'visible', timeout: 5_000 });
        await page.keyboard.press('Enter');
      },
    ],
    ['the status bar says "mounted"', 60_000, () => statusIs(page, o.mountPoint, 'mounted', 60_000)],
    [
      'the mount is in /proc/self/mountinfo; gpt.pth and 示例音频.wav read back through it',
      30_000,
      async () => {
        if (!(await mounted(o.mountPoint))) throw new Error(`${o.mountPoint} is not in /proc/self/mountinfo`);
        if (!readFileSync(join(o.mountPoint, MODEL_FILE)).equals(o.model))
          throw new Error(`${MODEL_FILE} read through the mount differs from what was uploaded`);
        if (readFileSync(join(o.mountPoint, SAMPLE_FILE)).subarray(0, 4).toString() !== 'RIFF')
          throw new Error(`${SAMPLE_FILE} read through the mount is not a WAV file`);
      },
    ],
    [
      'tokenizer.json opens from the mount (tree: cache_hub_v23 → tokenizer)',
      45_000,
      async () => {
        await expand(page, 'cache_hub_v23');
        await expand(page, 'tokenizer');
        await sideBarRow(page, 'tokenizer.json').first().click({ timeout: 20_000 });
        await page
          .locator('.part.editor .monaco-editor .view-lines', { hasText: '"BPE"' })
          .first()
          .waitFor({ state: 'visible', timeout: 20_000 });
      },
    ],
    ['screenshot', 15_000, () => screenshot(page, o.screenshot)],
    [
      'F1 "Rclone: Unmount": the status bar says "not mounted"',
      60_000,
      async () => {
        await runCommand(page, 'Rclone: Unmount', /^\s*Rclone: Unmount…?\s*$/);
        // Unmounts the only mount at once, or asks which (a real box has others): then ours is picked.
        await waitUntil(
          async () => {
            const row = quickPickRow(page, o.mountPoint).first();
            if (await row.isVisible()) await row.click({ timeout: 5_000 });
            return (await indicator(page, o.mountPoint))?.state === 'not mounted';
          },
          50_000,
          `the status bar item of ${o.mountPoint} to say "not mounted"`,
        );
        await statusIs(page, o.mountPoint, 'not mounted', 5_000);
      },
    ],
    [
      'the mount is gone from /proc/self/mountinfo',
      10_000,
      async () => {
        if (await mounted(o.mountPoint)) throw new Error(`${o.mountPoint} is still in /proc/self/mountinfo`);
      },
    ],
  ];
}

export async function runDemoSmoke(page: Page, o: SmokeOptions): Promise<Report> {
  return walk(page, steps(page, o), {
    suite: 'demo',
    problem: () => o.problem(),
    failureScreenshot: o.failureScreenshot,
  });
}
