// `npm run test:electron`: the same integration suites in desktop VS Code, through
// @vscode/test-electron. It downloads VS Code (into .vscode-test/) on first use, so it needs the
// internet; on a machine without it, use out/test/vscode-server.js (VS Code server + Chromium).
// On Linux without a display, run it under xvfb-run.
//   node out/test/electron.js [--grep <text>] [--keep] [--version <stable|insiders|1.x.y>]
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './helpers/fixtures';
import {
  disposeTestBox,
  fromEnclosingEditor,
  processesMentioning,
  startTestBox,
  writeSettings,
  type TestBox,
} from './integration/box';
import { GREP_ENV } from './integration/boxInfo';
import { formatReport, type Report } from './integration/report';
import { endProcess } from '../src/core/processes';
import { Cleanup, phase, printTimings } from './runner/util';

process.setSourceMapsEnabled(true);

/** Download and test run together; @vscode/test-electron has no overall bound of its own. */
const RUN_TIMEOUT_MS = 20 * 60_000;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

const { values: opts } = parseArgs({
  options: {
    grep: { type: 'string' },
    keep: { type: 'boolean', default: false },
    version: { type: 'string', default: 'stable' },
  },
});

async function download(version: string): Promise<string> {
  try {
    return await downloadAndUnzipVSCode({
      version,
      cachePath: join(ROOT, '.vscode-test'),
      timeout: DOWNLOAD_TIMEOUT_MS,
    });
  } catch (e) {
    throw new Error(
      `Could not download VS Code ${version} (${(e as Error).message}).\n` +
        '  @vscode/test-electron needs https://update.code.visualstudio.com; without internet access run\n' +
        '  `npm run test:vscode` instead (the same suites in the VS Code server, installed from npm).',
      { cause: e },
    );
  }
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>(
    (_, fail) => (timer = setTimeout(() => fail(new Error(`${what} did not finish within ${ms / 60_000} min`)), ms)),
  );
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

async function runSuites(executable: string, tb: TestBox): Promise<boolean> {
  // runTests lays extensionTestsEnv over process.env, so an enclosing VS Code's variables
  // (see editorEnv) must go from process.env itself.
  for (const name of Object.keys(process.env)) if (fromEnclosingEditor(name)) delete process.env[name];
  const exitCode = await bounded(
    runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: join(ROOT, 'out/test/integration/index.js'),
      extensionTestsEnv: tb.env,
      launchArgs: [
        tb.info.workspace,
        '--disable-extensions',
        '--user-data-dir',
        tb.dataDir,
        '--extensions-dir',
        tb.extensionsDir,
      ],
    }).catch((e: Error) => {
      console.log(`  VS Code ended with a failure: ${e.message}`);
      return 1;
    }),
    RUN_TIMEOUT_MS,
    'the desktop test run',
  );
  const report = existsSync(tb.reportFile) ? (JSON.parse(readFileSync(tb.reportFile, 'utf8')) as Report) : undefined;
  if (report) console.log(formatReport(report));
  else console.log(`  no report at ${tb.reportFile}: the tests entry did not finish`);
  return exitCode === 0 && !!report && report.failed === 0 && report.tests.length > 0;
}

async function main(): Promise<boolean> {
  const cleanup = new Cleanup();
  let ok = false;
  try {
    const executable = await phase('VS Code download (@vscode/test-electron)', () => download(opts.version));
    const tb = await phase('test box (S3 server, seed objects, settings)', () => startTestBox('electron'));
    cleanup.add('test box', () => disposeTestBox(tb, opts.keep), 60_000);
    // runTests does not hand out the pid: whatever still runs with our user-data-dir on its argv is ours.
    cleanup.add(
      'VS Code',
      async () => void (await Promise.all(processesMentioning(tb.dataDir).map((pid) => endProcess(pid, 5_000)))),
    );
    if (opts.grep) tb.env[GREP_ENV] = opts.grep;
    writeSettings(tb.dataDir, tb.settings, ['User']);
    ok = await phase('integration suites in desktop VS Code', () => runSuites(executable, tb));
  } catch (e) {
    console.error(`\n✖ ${(e as Error).message}`);
  } finally {
    await phase('cleanup', () => cleanup.run());
    printTimings();
  }
  return ok;
}

main().then(
  (ok) => {
    console.log(ok ? '\nDesktop VS Code tests passed' : '\nDesktop VS Code tests FAILED');
    process.exit(ok ? 0 : 1);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
