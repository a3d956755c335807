// What an in-editor test run reports to the runner that started it (a JSON file), and how it is printed.

export interface TestResult {
  /** The enclosing describe() names joined with " › " ("" for top-level tests). */
  suite: string;
  name: string;
  ok: boolean;
  ms: number;
  error?: { message: string; stack?: string };
}

export interface Report {
  passed: number;
  failed: number;
  tests: TestResult[];
  /** Figures measured along the way (e.g. activation time), printed after the results. */
  notes?: Record<string, string>;
}

/** One line per test (✔/✖ suite › name (ms)), failures with their error, then a count line. */
export function formatReport(report: Report, indent = '  '): string {
  const lines: string[] = [];
  for (const t of report.tests) {
    const title = t.suite ? `${t.suite} › ${t.name}` : t.name;
    lines.push(`${indent}${t.ok ? '✔' : '✖'} ${title} (${t.ms} ms)`);
    if (t.error) {
      const text =
        t.error.stack && t.error.stack.includes(t.error.message)
          ? t.error.stack
          : `${t.error.message}\n${t.error.stack ?? ''}`;
      for (const l of text.trimEnd().split('\n')) lines.push(`${indent}    ${l}`);
    }
  }
  lines.push(`${indent}${report.passed} passed, ${report.failed} failed`);
  for (const [k, v] of Object.entries(report.notes ?? {})) lines.push(`${indent}${k}: ${v}`);
  return lines.join('\n');
}
