// The extensionTestsPath entry (bundled to out/test/integration/index.js). VS Code's extension
// host calls run() once the window is up; a rejected promise marks the run as failed.
// The suites: add one import per suite file here.
import './smoke.test';
import './tree.test';
import './remotes.test';
import './mounts.test';
import './approval.test';
import './commands.test';

import { renameSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { formatReport, runAll, type Report } from './harness';
import { GREP_ENV, REPORT_ENV, startedMarker } from './boxInfo';

/** Written under a temporary name and renamed: the runner polls for the file and must never read half of it. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

export async function run(): Promise<void> {
  // Stack traces point into the bundle otherwise; this host only runs tests, so it may change it.
  process.setSourceMapsEnabled(true);
  const reportFile = process.env[REPORT_ENV];
  if (reportFile) writeAtomically(startedMarker(reportFile), new Date().toISOString());
  console.log('Rclone Dev Box integration tests');
  const grep = process.env[GREP_ENV];
  const report: Report = await runAll({
    ...(grep ? { grep } : {}),
    onResult: (r) => console.log(`  ${r.ok ? '✔' : '✖'} ${r.suite ? `${r.suite} › ` : ''}${r.name} (${r.ms} ms)`),
  });
  const ext = vscode.extensions.getExtension<{ activationMs: number } | undefined>('rclone-devbox.rclone-devbox');
  if (ext?.isActive && ext.exports)
    report.notes = { 'activate() of the extension took': `${ext.exports.activationMs.toFixed(1)} ms` };
  // Progress was printed test by test; the summary repeats only the failures, with their errors.
  console.log(formatReport({ ...report, tests: report.tests.filter((t) => !t.ok) }));
  if (reportFile) writeAtomically(reportFile, JSON.stringify(report, null, 2));
  if (report.failed > 0) throw new Error(`${report.failed} of ${report.tests.length} integration tests failed`);
}
