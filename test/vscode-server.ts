// Runs the integration suites (test/integration/) inside a real VS Code: the VS Code server that
// code-server bundles, opened in headless Chromium. The suites run in the server's remote extension
// host, which is where the extension runs under Remote-SSH. Then a Playwright UI smoke test drives
// the same web UI, and last the VSIX `npm run package` builds is installed into a fresh server and
// walked the same way (no development path). Bundled to out/test/vscode-server.js; runs with plain Node 20.
//   node out/test/vscode-server.js                    integration suites, then (if green) the UI test
//                                                     (each with its own S3 server, VS Code server and window)
//   node out/test/vscode-server.js --only-integration
//   node out/test/vscode-server.js --only-ui
//   node out/test/vscode-server.js --only-vsix        the installed-VSIX smoke test only
//   node out/test/vscode-server.js --only-zh          the UI in Chinese only (server started with --locale zh-cn)
//   node out/test/vscode-server.js --ui               run the UI test even when the suites failed
//   node out/test/vscode-server.js --grep <text>      only tests whose "suite › name" contains <text>
//   node out/test/vscode-server.js --keep             keep the temp dir (logs, settings, report) for debugging
//   UPDATE_SCREENSHOT=1 node out/test/vscode-server.js  the UI test writes the README's animated capture
//                                                     media/capture.webp, the zh-cn run media/screenshot.zh-cn.png
//                                                     (media/screenshot.png comes from `npm start -- --smoke --screenshot`)
//                                                     (otherwise its screenshot goes to the UI run's temp dir)
// The server, Node 24 and playwright-core are installed from npm into .cache/vscode-server on first
// use (~2 min); RCLONE_DEVBOX_VSCODE_CACHE=<dir> puts them elsewhere. Chromium: /usr/bin/chromium.
// Everything started here (S3 server, VS Code server, Chromium, rclone mounts) is stopped by pid in
// a finally block, also on failure and on Ctrl-C. Exit code 0 only when every test passed.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { readRcloneMounts } from '../src/core/mountinfo';
import { ROOT } from './helpers/fixtures';
import { disposeTestBox, processesMentioning, startTestBox, writeSettings, type TestBox } from './integration/box';
import { GREP_ENV, startedMarker } from './integration/boxInfo';
import { formatReport, type Report } from './integration/report';
import { runChineseSmoke, runInstalledSmoke, runUiSmoke } from './ui/smoke.ui';
import type { Browser, Page } from './ui/playwright';
import { devHostUrl, launchChromium } from './runner/chromium';
import { startServer, type VscodeServer } from './runner/server';
import { installVsix, packageVsix, standInChinesePack } from './runner/vsix';
import { type SecretReport, SecretWatch } from './runner/secretWatch';
import { Cleanup, once, phase, printTail, printTimings, waitFor } from './runner/util';
import { ensureVscodeServer, type VscodeServerInstall } from './runner/vscodeCache';

process.setSourceMapsEnabled(true);

const VIEWPORT = { width: 1280, height: 800 };
/** The whole integration run, from opening the window to the report. */
const SUITE_TIMEOUT_MS = 15 * 60_000;
/** Closing a browser context (a window) normally takes milliseconds; a hung one must not stall the run. */
const CLOSE_TIMEOUT_MS = 10_000;
/** From opening the window until the tests entry's run() has started (window, extension host, bundle load). */
const START_TIMEOUT_MS = 3 * 60_000;

const { values: opts } = parseArgs({
  options: {
    'only-integration': { type: 'boolean', default: false },
    'only-ui': { type: 'boolean', default: false },
    'only-vsix': { type: 'boolean', default: false },
    'only-zh': { type: 'boolean', default: false },
    ui: { type: 'boolean', default: false },
    grep: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

/** Everything started is registered here as it starts, and released in the finally of main() or on Ctrl-C. */
const cleanup = new Cleanup();

/** A window of the server in a fresh browser context; the payload makes it an Extension Development Host. */
function windowUrl(server: VscodeServer, tb: TestBox, withTests: boolean): string {
  const tests = withTests ? join(ROOT, 'out/test/integration/index.js') : undefined;
  return devHostUrl(server, tb.info.workspace, ROOT, tests);
}

/** A window: its page, its console output, why it died (if it did), and how to close it. */
interface WatchedPage {
  page: Page;
  console: string[];
  problem(): string | undefined;
  close(): Promise<void>;
}

async function openWindow(browser: Browser, url: string, server: VscodeServer): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const lines: string[] = [];
  let dead: string | undefined;
  // Only problems: the workbench logs a lot of info (and, offline, gallery lookups that fail).
  page.on('console', (m) => {
    // First line only: the workbench's errors come with long minified stacks.
    if (m.type() === 'error' || m.type() === 'warning') lines.push(`[${m.type()}] ${m.text().split('\n')[0]}`);
  });
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  page.on('crash', () => (dead = 'the page crashed'));
  page.on('close', () => (dead ??= 'the page was closed'));
  browser.on('disconnected', () => (dead ??= 'Chromium exited'));
  console.log(`  ${url}`);
  const close = async () => {
    const closed = await Promise.race([
      context.close().then(
        () => true,
        () => true,
      ),
      delay(CLOSE_TIMEOUT_MS, false, { ref: false }),
    ]);
    if (!closed)
      console.error(`  the window did not close within ${CLOSE_TIMEOUT_MS / 1000} s; left to browser.close()`);
  };
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  } catch (e) {
    await close();
    throw e;
  }
  return { page, console: lines, problem: () => server.exited() ?? dead, close };
}

function readReport(file: string): Report | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as Report;
}

function printDiagnostics(server: VscodeServer, watched: WatchedPage | undefined): void {
  if (cleanup.started) return; // interrupted: the logs are being removed, and the failure is ours
  const logs = server.extensionHostLogs();
  if (!logs.length) console.log('\n(no extension host log found under the server data dir)');
  for (const log of logs) printTail('extension host log', log);
  printTail('VS Code server stdout/stderr', server.logFile);
  if (watched?.console.length) {
    console.log(`\n----- browser console errors and warnings: last 60 of ${watched.console.length} -----`);
    console.log(watched.console.slice(-60).join('\n'));
    console.log('----- end -----');
  }
}

/**
 * Opens a window at `url`, lets `test` produce a report from it, prints the report (and the logs
 * when something failed), and closes the window. True when every test passed.
 */
async function inWindow(
  browser: Browser,
  server: VscodeServer,
  url: string,
  test: (w: WatchedPage) => Promise<Report>,
): Promise<boolean> {
  let watched: WatchedPage | undefined;
  try {
    watched = await openWindow(browser, url, server);
    const report = await test(watched);
    console.log(formatReport(report));
    if (report.failed === 0 && report.tests.length > 0) return true;
    if (!report.tests.length) console.log('  no test ran (nothing registered, or --grep matched nothing)');
    printDiagnostics(server, watched);
    return false;
  } catch (e) {
    console.log(`  ✖ ${(e as Error).message}`);
    printDiagnostics(server, watched);
    return false;
  } finally {
    await watched?.close();
  }
}

function runIntegration(browser: Browser, server: VscodeServer, tb: TestBox): Promise<boolean> {
  const opened = Date.now();
  return inWindow(browser, server, windowUrl(server, tb, true), async (w) => {
    await waitFor(() => (existsSync(startedMarker(tb.reportFile)) ? true : undefined), {
      what: 'the extension host to start the tests entry (out/test/integration/index.js)',
      timeoutMs: START_TIMEOUT_MS,
      failFast: w.problem,
    });
    console.log(
      `  tests started in the extension host ${((Date.now() - opened) / 1000).toFixed(1)} s after opening the window`,
    );
    return waitFor(() => readReport(tb.reportFile), {
      what: `the test report ${tb.reportFile}`,
      timeoutMs: Math.max(0, SUITE_TIMEOUT_MS - (Date.now() - opened)),
      intervalMs: 500,
      failFast: w.problem,
    });
  });
}

function runUi(browser: Browser, server: VscodeServer, tb: TestBox): Promise<boolean> {
  // The README's own screenshot is the demo's; this one stays in the run's folder.
  const screenshot = join(tb.dir, 'screenshot.png');
  console.log(`  screenshot: ${screenshot} (removed with the box unless --keep)`);
  const frames = process.env.UPDATE_SCREENSHOT === '1' ? join(tb.dir, 'frames') : undefined;
  return inWindow(browser, server, windowUrl(server, tb, false), async (w) => {
    const report = await runUiSmoke(w.page, {
      mountRoot: tb.info.mountRoot,
      screenshot,
      failureScreenshot: join(ROOT, 'out', 'ui-failure.png'),
      problem: w.problem,
      serverPid: server.pid,
      frames,
    });
    if (frames && report.failed === 0) await animate(frames, join(ROOT, 'media', 'capture.webp'));
    return report;
  });
}

/** The README's animated capture: the walk's frames, in order, as an animated WebP (img2webp, Debian's `webp`). */
async function animate(frames: string, out: string): Promise<void> {
  const files = readdirSync(frames)
    .filter((f) => f.endsWith('.png'))
    .sort((a, b) => parseInt(a) - parseInt(b))
    .map((f) => join(frames, f));
  const args = ['-loop', '0', '-lossy', '-q', '60', '-d', '1800', ...files, '-o', out];
  const r = await execa('img2webp', args, { reject: false });
  if (r.exitCode === 0) console.log(`  animated capture: ${out} (${files.length} frames)`);
  else console.log(`  no animated capture: img2webp (apt-get install webp) failed: ${r.stderr || r.message}`);
}

function runZh(browser: Browser, server: VscodeServer, tb: TestBox): Promise<boolean> {
  const screenshot =
    process.env.UPDATE_SCREENSHOT === '1'
      ? join(ROOT, 'media', 'screenshot.zh-cn.png')
      : join(tb.dir, 'screenshot.zh-cn.png');
  console.log(`  screenshot: ${screenshot}`);
  return inWindow(browser, server, windowUrl(server, tb, false), (w) =>
    runChineseSmoke(w.page, {
      mountRoot: tb.info.mountRoot,
      screenshot,
      failureScreenshot: join(ROOT, 'out', 'ui-zh-failure.png'),
      problem: w.problem,
    }),
  );
}

function runVsix(browser: Browser, server: VscodeServer, tb: TestBox): Promise<boolean> {
  // No payload: a plain window on the workspace, whose extensions are the installed ones.
  const url = `${server.origin}/?${new URLSearchParams({ folder: tb.info.workspace })}`;
  return inWindow(browser, server, url, (w) =>
    runInstalledSmoke(w.page, {
      mountRoot: tb.info.mountRoot,
      failureScreenshot: join(ROOT, 'out', 'vsix-failure.png'),
      problem: w.problem,
    }),
  );
}

/** After cleanup: says loudly if anything of ours survived (processes, mounts). */
async function checkNothingLeft(dir: string): Promise<void> {
  const pids = processesMentioning(dir);
  const mounts = (await readRcloneMounts()).filter((m) => m.mountPoint.startsWith(`${dir}/`));
  if (pids.length) console.error(`✖ still running after cleanup: ${pids.join(', ')}`);
  if (mounts.length) console.error(`✖ still mounted after cleanup: ${mounts.map((m) => m.mountPoint).join(', ')}`);
}

interface Session {
  box: TestBox;
  server: VscodeServer;
  /** Stops the server and releases the box now (they are on the cleanup stack too, for failures and Ctrl-C). */
  end(): Promise<void>;
}

/**
 * A fresh box (S3 server, seeded buckets, settings) and VS Code server. The UI test gets its own,
 * so what the suites left behind (objects, mounts, state) cannot change what it sees or shoots.
 */
async function startSession(
  label: string,
  install: VscodeServerInstall,
  dirs: string[],
  before?: (box: TestBox) => Promise<void>,
  serverArgs: string[] = [],
): Promise<Session> {
  const box = await phase(`${label}: test box (S3, seed, settings)`, () => startTestBox('vscode-server'));
  dirs.push(box.dir);
  const releaseBox = once(() => disposeTestBox(box, opts.keep));
  cleanup.add(`${label}: test box`, releaseBox, 60_000);
  await before?.(box);
  if (opts.grep) box.env[GREP_ENV] = opts.grep;
  for (const file of writeSettings(box.dataDir, box.settings, ['User', 'Machine'])) console.log(`  settings: ${file}`);
  console.log(`  box: ${box.dir} (S3 at ${box.info.endpoint})`);
  const server = await phase(`${label}: VS Code server start`, () => startServer(install, box, { args: serverArgs }));
  const stopServer = once(() => server.stop());
  cleanup.add(`${label}: VS Code server`, stopServer);
  console.log(`  server pid ${server.pid} on ${server.origin}`);
  return {
    box,
    server,
    end: () =>
      phase(`${label}: stop server, release box`, async () => {
        await stopServer();
        await releaseBox();
      }),
  };
}

/** Says what the session's secret watch saw; false when a secret showed up anywhere. */
function noSecretSeen(label: string, r: SecretReport): boolean {
  const what = `${r.samples} argv samples of ${r.processes} processes, then the session's logs`;
  if (!r.hits.length) {
    console.log(`  ${label}: no secret in ${what}`);
    return true;
  }
  console.log(`  ✖ ${label}: a secret showed up (${what}):\n${r.hits.map((h) => `    ${h}`).join('\n')}`);
  return false;
}

async function main(): Promise<boolean> {
  const only = opts['only-ui'] || opts['only-integration'] || opts['only-vsix'] || opts['only-zh'];
  const runSuites = !only || opts['only-integration'];
  const runUiTest = !only || opts['only-ui'];
  const runVsixTest = !only || opts['only-vsix'];
  const runZhTest = !only || opts['only-zh'];
  const dirs: string[] = [];
  let ok = true;
  try {
    const install = await phase('VS Code server install', ensureVscodeServer);
    const browser = await phase('Chromium launch', () => launchChromium());
    cleanup.add('Chromium', () => browser.close(), 15_000);

    if (runSuites) {
      const s = await startSession('integration', install, dirs);
      const watch = new SecretWatch(s.box);
      try {
        ok = await phase('integration suites in the extension host', () => runIntegration(browser, s.server, s.box));
      } finally {
        ok = noSecretSeen('integration', watch.finish()) && ok;
        await s.end();
      }
    }
    if (runUiTest && (ok || opts.ui)) {
      mkdirSync(join(ROOT, 'out'), { recursive: true });
      const s = await startSession('UI', install, dirs);
      const watch = new SecretWatch(s.box);
      try {
        ok = (await phase('UI smoke test (Playwright)', () => runUi(browser, s.server, s.box))) && ok;
      } finally {
        ok = noSecretSeen('UI', watch.finish()) && ok;
        await s.end();
      }
    } else if (runUiTest) {
      console.log('\nUI smoke test skipped: the integration suites failed (--ui runs it anyway)');
    }
    if (runZhTest && ok) {
      const s = await startSession('zh-cn', install, dirs, async (box) => standInChinesePack(box), [
        '--locale',
        'zh-cn',
      ]);
      try {
        ok = (await phase('UI in Chinese (--locale zh-cn)', () => runZh(browser, s.server, s.box))) && ok;
      } finally {
        await s.end();
      }
    }
    if (runVsixTest && ok) {
      const s = await startSession('VSIX', install, dirs, async (box) => {
        const vsix = await phase('VSIX: npm run package, in a staging copy', () => packageVsix(box.dir));
        console.log(`  ${vsix.file}: ${vsix.kb.toFixed(1)} KB, ${vsix.files.length} files: ${vsix.files.join(', ')}`);
        const folder = await phase('VSIX: --install-extension into the server', () =>
          installVsix(install, box, vsix.file),
        );
        console.log(`  installed: ${folder}`);
      });
      const watch = new SecretWatch(s.box);
      try {
        ok = (await phase('VSIX smoke test (the installed extension)', () => runVsix(browser, s.server, s.box))) && ok;
      } finally {
        ok = noSecretSeen('VSIX', watch.finish()) && ok;
        await s.end();
      }
    }
  } catch (e) {
    console.error(`\n✖ ${(e as Error).stack ?? e}`);
    ok = false;
  } finally {
    await phase('cleanup', () => cleanup.run());
    for (const dir of dirs) await checkNothingLeft(dir);
    printTimings();
  }
  return ok;
}

main().then(
  (ok) => {
    console.log(ok ? '\nVS Code tests passed' : '\nVS Code tests FAILED');
    process.exit(ok ? 0 : 1);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
