// The extensionTestsPath entry (bundled to out/test/integration/index.js). VS Code's extension
// host calls run() once the window is up; a rejected promise marks the run as failed. The suites
// run under mocha, as VS Code's own extensions' tests do in the electron, web and remote hosts;
// mocha is loaded from node_modules (not bundled), and results go to a JSON report for the runner.
import { renameSync, writeFileSync } from 'node:fs';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { GREP_ENV, REPORT_ENV, startedMarker } from './boxInfo';
import { formatReport, type Report, type TestResult } from './report';

/** Written under a temporary name and renamed: the runner polls for the file and must never read half of it. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs the suites; every test (and failed hook) becomes one result. */
async function runSuites(grep: string | undefined): Promise<TestResult[]> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, reporter: 'base', color: false });
  // Our "suite › name" becomes mocha's full title, "suite name".
  if (grep) mocha.grep(new RegExp(escapeRegExp(grep.split(' › ').join(' '))));
  mocha.suite.emit('pre-require', globalThis, 'suites', mocha);
  await import('./suites'); // evaluated now, when describe/it have a suite to register with
  const results: TestResult[] = [];
  const result = (t: Mocha.Runnable, error?: Error): TestResult => {
    const r: TestResult = {
      suite: t.parent?.titlePath().join(' › ') ?? '',
      name: t.title,
      ok: !error,
      ms: t.duration ?? 0,
    };
    if (error) r.error = { message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
    console.log(`  ${r.ok ? '✔' : '✖'} ${r.suite ? `${r.suite} › ` : ''}${r.name} (${r.ms} ms)`);
    return r;
  };
  await new Promise<void>((done) => {
    mocha
      .run(() => done())
      .on('pass', (t) => results.push(result(t)))
      .on('fail', (t, e: Error) => results.push(result(t, e)));
  });
  return results;
}

export async function run(): Promise<void> {
  // Stack traces point into the bundle otherwise; this host only runs tests, so it may change it.
  process.setSourceMapsEnabled(true);
  const reportFile = process.env[REPORT_ENV];
  if (reportFile) writeAtomically(startedMarker(reportFile), new Date().toISOString());
  console.log('Rclone Dev Box integration tests');
  const tests = await runSuites(process.env[GREP_ENV]);
  const passed = tests.filter((t) => t.ok).length;
  const report: Report = { passed, failed: tests.length - passed, tests };
  const ext = vscode.extensions.getExtension<{ activationMs: number } | undefined>('rclone-devbox.rclone-devbox');
  if (ext?.isActive && ext.exports)
    report.notes = { 'activate() of the extension took': `${ext.exports.activationMs.toFixed(1)} ms` };
  // Progress was printed test by test; the summary repeats only the failures, with their errors.
  console.log(formatReport({ ...report, tests: report.tests.filter((t) => !t.ok) }));
  if (reportFile) writeAtomically(reportFile, JSON.stringify(report, null, 2));
  if (report.failed > 0) throw new Error(`${report.failed} of ${report.tests.length} integration tests failed`);
}
