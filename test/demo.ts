// `npm start` (alias `npm run demo`): the product's main job in a real VS Code. A local S3 server
// with an IndexTTS2-like bucket, a throwaway rclone config, a workspace with a mount profile, and
// the VS Code server (the one the tests install into .cache/) with this extension loaded from
// source; it prints the URL to open and waits. Ctrl-C (or closing the terminal) stops everything it
// started, by pid, unmounts what was mounted under its temp dir, and removes its files.
//   node out/test/demo.js              the demo; open the URL it prints
//   node out/test/demo.js --smoke      the same, headless: Playwright mounts and unmounts through the UI
//   node out/test/demo.js --port 8080  a fixed port (handy for an SSH tunnel you keep open)
//   node out/test/demo.js --smoke --screenshot media/screenshot.png   the README's screenshot
//                                      (default out/demo-screenshot.png)
// Everything listens on 127.0.0.1 only, and nothing outside the demo's temp dir is touched.
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { readRcloneMounts } from '../src/core/mountinfo';
import { endProcess } from '../src/core/processes';
import { runDemoSmoke } from './demo/smoke';
import { BUCKET, makeDemoDir, REMOTE, startWorld, TOUR, type DemoWorld } from './demo/world';
import { ROOT } from './helpers/fixtures';
import { editorEnv, processesMentioning, unmountUnder, writeSettings } from './integration/box';
import { formatReport } from './integration/report';
import { devHostUrl, launchChromium } from './runner/chromium';
import { startServer, type VscodeServer } from './runner/server';
import { Cleanup, findFiles, printTail } from './runner/util';
import { ensureVscodeServer } from './runner/vscodeCache';

process.setSourceMapsEnabled(true);

const { values: opts } = parseArgs({
  options: { smoke: { type: 'boolean', default: false }, port: { type: 'string' }, screenshot: { type: 'string' } },
});

// After the terminal is closed (SIGHUP), writing to it fails: that must not end the cleanup early.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

/** Ctrl-C is how the demo ends (exit 0); in the smoke run it is an interruption (130). */
const cleanup = new Cleanup(opts.smoke ? 130 : 0);

/**
 * Unmounts (fusermount3 -uz) what is mounted under the demo's dir, then ends the processes that name
 * it (an rclone whose unmount did not end it, a desktop VS Code opened on the demo). A mount made
 * outside the dir (a path typed into Mount…) is left alone: it is named, for the user to unmount.
 */
async function release(dir: string): Promise<void> {
  const points = await unmountUnder(dir);
  if (points.length) console.log(`  unmounted ${points.join(', ')}`);
  const outside = (await readRcloneMounts()).map((m) => m.mountPoint).filter((p) => !p.startsWith(`${dir}/`));
  const pids = processesMentioning(dir).filter((pid) => {
    const argv = argvOf(pid);
    const point = outside.find((p) => argv.includes(p));
    if (point) console.error(`  left mounted outside the demo's dir: ${point} (fusermount3 -u ${sh(point)})`);
    return !point;
  });
  await Promise.all(pids.map((pid) => endProcess(pid, 3_000)));
}

function argvOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // gone meanwhile
  }
}

/** Removes the demo's dir, never through a live mount (that would delete the bucket's objects). */
async function removeDir(dir: string): Promise<void> {
  const left = (await readRcloneMounts()).filter((m) => m.mountPoint.startsWith(`${dir}/`));
  if (left.length) console.error(`  still mounted: ${left.map((m) => m.mountPoint).join(', ')}; kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/** The extension host's log and the extension's own output channel ("Rclone Dev Box"), then the server's. */
function printLogs(server: VscodeServer, dataDir: string): void {
  for (const log of server.extensionHostLogs()) printTail('extension host log', log, 80);
  for (const log of findFiles(join(dataDir, 'logs'), (n) => n.includes('Rclone Dev Box')))
    printTail('Rclone Dev Box output', log, 60);
  printTail('VS Code server log', server.logFile, 40);
}

const sh = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * How to open the same workspace in a desktop VS Code on this machine, when one is on PATH and can
 * show a window (not the `code` of a Remote-SSH terminal, which opens on another machine). It gets
 * its own user data dir (desktop reads rclone settings from user settings) under the demo's dir.
 */
function desktopCommand(w: DemoWorld): string | undefined {
  const code = (process.env.PATH ?? '').split(delimiter).find((d) => d && existsSync(join(d, 'code')));
  if (!code || process.env.VSCODE_IPC_HOOK_CLI || realpathSync(join(code, 'code')).includes('/remote-cli/'))
    return undefined;
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return undefined;
  const data = join(w.dir, 'desktop-data');
  writeSettings(data, { ...w.editorSettings, ...w.rcloneSettings }, ['User']);
  const env = Object.entries(w.env).map(([k, v]) => `${k}=${sh(v)}`);
  const args = ['--user-data-dir', data, '--extensions-dir', w.extensionsDir, '--extensionDevelopmentPath', ROOT];
  return `env ${env.join(' ')} code ${[...args, w.workspace].map(sh).join(' ')}`;
}

function printWelcome(w: DemoWorld, server: VscodeServer, url: string, seconds: string): void {
  const row = (k: string, v: string) => console.log(`  ${k.padEnd(15)} ${v}`);
  console.log('\nRclone Dev Box demo');
  row('S3 server', `${w.s3.endpoint}  bucket ${BUCKET}: cache_hub/, cache_hub_v23/, audio_samples/, logs/`);
  row('rclone config', `${w.configFile}  (remote "${REMOTE}"; your own rclone.conf is not used)`);
  row('mount profile', `${REMOTE}:${BUCKET} → ${w.mountPoint}`);
  row('workspace', `${w.workspace}  (webui.py, README.md)`);
  console.log(`\nOpen VS Code in a browser (up ${seconds} s after the demo started):\n\n  ${url}\n`);
  console.log(
    `  From another machine: ssh -N -L ${server.port}:127.0.0.1:${server.port} <this box>, then open the URL there.`,
  );
  if (process.env.TERM_PROGRAM === 'vscode')
    console.log('  In a VS Code (Remote-SSH) terminal: Ctrl-click the URL; VS Code forwards the port for you.');
  const desktop = desktopCommand(w);
  if (desktop) console.log(`  Or in desktop VS Code on this machine:\n    ${desktop}`);
  console.log(`\nTry:\n${TOUR.map((s, i) => `  ${i + 1}. ${s}`).join('\n')}`);
  console.log('\nCtrl-C stops everything, unmounts and removes the demo’s files.');
}

/** The smoke run's first failure, said again on the last line: a CI log keeps only its tail. */
let failure: string | undefined;

async function smoke(server: VscodeServer, w: DemoWorld, url: string): Promise<boolean> {
  // Its crash reports and dconf go under the demo's dir (XDG_CONFIG_HOME, XDG_CACHE_HOME), not to ~.
  const browser = await launchChromium(editorEnv({ ...w.env, XDG_CONFIG_HOME: join(w.dir, 'chromium') }));
  cleanup.add('Chromium', () => browser.close(), 15_000);
  let ok = false;
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    let dead: string | undefined;
    page.on('crash', () => (dead = 'the page crashed'));
    browser.on('disconnected', () => (dead ??= 'Chromium exited'));
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    mkdirSync(join(ROOT, 'out'), { recursive: true });
    const report = await runDemoSmoke(page, {
      mountPoint: w.mountPoint,
      model: w.model,
      failureScreenshot: join(ROOT, 'out', 'demo-failure.png'),
      screenshot: resolve(opts.screenshot ?? join(ROOT, 'out', 'demo-screenshot.png')),
      problem: () => server.exited() ?? dead,
    });
    console.log(formatReport(report));
    ok = report.failed === 0 && report.tests.length > 0;
    failure = report.tests.find((t) => !t.ok)?.error?.message.split('\n')[0];
  } catch (e) {
    failure = (e as Error).message;
    console.error(`✖ ${failure}`);
  }
  if (!ok && !cleanup.started) printLogs(server, w.dataDir); // (after Ctrl-C the failure is ours, and the logs are going)
  return ok;
}

/** --port: a fixed port for the server (default a free one). */
function portOption(): number | undefined {
  if (opts.port === undefined) return undefined;
  const port = Number(opts.port);
  if (Number.isInteger(port) && port > 0 && port < 65536) return port;
  throw new Error(`--port ${opts.port}: give a TCP port number`);
}

async function main(): Promise<boolean> {
  const port = portOption();
  const dir = makeDemoDir();
  cleanup.add('remove the demo’s files', () => removeDir(dir));
  const install = await ensureVscodeServer();
  const world = await startWorld(dir, (s3) => cleanup.add('S3 server', () => s3.stop()));
  cleanup.add('unmount, end what was started there', () => release(dir), 60_000);
  const site = { dir, dataDir: world.dataDir, extensionsDir: world.extensionsDir, env: world.env, info: world };
  const server = await startServer(install, site, { port, quiet: true });
  cleanup.add('VS Code server', () => server.stop());
  const url = devHostUrl(server, world.workspace, ROOT);
  const seconds = process.uptime().toFixed(1);
  if (opts.smoke) {
    console.log(`demo: VS Code server ready ${seconds} s after start; driving it headless`);
    return smoke(server, world, url);
  }
  printWelcome(world, server, url, seconds);
  // Until Ctrl-C (the cleanup's signal handler then ends the process) or the server dies.
  while (!server.exited() && !cleanup.started) await delay(500);
  if (cleanup.started) return true; // it was stopped on purpose
  console.error(`\n✖ ${server.exited()}`);
  printLogs(server, world.dataDir);
  return false;
}

void main()
  .catch((e: unknown) => {
    failure = e instanceof Error ? e.message : String(e);
    console.error(`\n✖ ${(e as Error).stack ?? String(e)}`);
    return false;
  })
  .then(async (ok) => {
    await cleanup.run();
    if (opts.smoke)
      console.log(ok ? '\ndemo smoke run passed' : `\ndemo smoke run FAILED${failure ? `: ${failure}` : ''}`);
    process.exit(ok ? 0 : 1);
  });
