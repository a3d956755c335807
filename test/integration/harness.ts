// A tiny test framework for the extension host: describe/it/hooks, per-test timeouts, a JSON report.
// No dependencies, because it runs inside VS Code's extension host (desktop or the server's remote
// one), where mocha and node:test are not available. Suites register with describe()/it() when
// their module is imported; index.ts then calls runAll() once.

export type Body = (ctx: TestContext) => unknown;
export interface TestContext {
  /** Aborted when the test (or hook) times out: pass it on so work started by a dead test stops. */
  signal: AbortSignal;
}

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

export const DEFAULT_TIMEOUT_MS = 60_000;

interface Test {
  name: string;
  body: Body;
  timeoutMs: number;
}

interface Suite {
  name: string;
  parent: Suite | undefined;
  before: Body[];
  after: Body[];
  beforeEach: Body[];
  afterEach: Body[];
  /** Tests and child suites in declaration order. */
  items: Array<Test | Suite>;
  /** An error thrown by the describe() callback itself; reported as a failed test. */
  setupError?: unknown;
}

const newSuite = (name: string, parent: Suite | undefined): Suite => ({
  name,
  parent,
  before: [],
  after: [],
  beforeEach: [],
  afterEach: [],
  items: [],
});

const root = newSuite('', undefined);
let current = root;

export function describe(name: string, fn: () => void): void {
  const suite = newSuite(name, current);
  current.items.push(suite);
  current = suite;
  try {
    fn();
  } catch (e) {
    // A broken suite file must show up as a failure, not silently register nothing.
    suite.setupError = e;
  } finally {
    current = suite.parent ?? root;
  }
}

export function it(name: string, body: Body, options: { timeoutMs?: number } = {}): void {
  current.items.push({ name, body, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
}

export const before = (fn: Body): void => void current.before.push(fn);
export const after = (fn: Body): void => void current.after.push(fn);
export const beforeEach = (fn: Body): void => void current.beforeEach.push(fn);
export const afterEach = (fn: Body): void => void current.afterEach.push(fn);

const isSuite = (item: Test | Suite): item is Suite => 'items' in item;

function suitePath(suite: Suite): string {
  const names: string[] = [];
  for (let s: Suite | undefined = suite; s; s = s.parent) if (s.name) names.unshift(s.name);
  return names.join(' › ');
}

function ancestry(suite: Suite): Suite[] {
  const chain: Suite[] = [];
  for (let s: Suite | undefined = suite; s; s = s.parent) chain.unshift(s);
  return chain;
}

const toError = (e: unknown): { message: string; stack?: string } =>
  e instanceof Error ? { message: e.message, ...(e.stack ? { stack: e.stack } : {}) } : { message: String(e) };

/**
 * Runs `body` with a deadline. A timed-out body cannot be killed (it is a promise), so its
 * signal is aborted and the run moves on.
 */
async function withTimeout(body: Body, timeoutMs: number, what: string): Promise<void> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => {
      const e = new Error(`${what} timed out after ${timeoutMs} ms`);
      controller.abort(e);
      fail(e);
    }, timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => body({ signal: controller.signal })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs hooks in order; every hook runs even if an earlier one failed; returns the first error. */
async function runHooks(hooks: Body[], what: string): Promise<unknown> {
  let first: unknown;
  for (const hook of hooks) {
    try {
      await withTimeout(hook, DEFAULT_TIMEOUT_MS, what);
    } catch (e) {
      first ??= e;
    }
  }
  return first;
}

interface RunOptions {
  /** Only tests whose "suite › name" contains this text run (hooks of their suites still run). */
  grep?: string;
  /** Called after each test, e.g. to print progress. */
  onResult?: (r: TestResult) => void;
}

class Runner {
  readonly results: TestResult[] = [];
  constructor(private readonly options: RunOptions) {}

  private record(r: TestResult): void {
    this.results.push(r);
    this.options.onResult?.(r);
  }

  private fail(suite: Suite, name: string, error: unknown, ms = 0): void {
    this.record({ suite: suitePath(suite), name, ok: false, ms, error: toError(error) });
  }

  private selected(suite: Suite, test: Test): boolean {
    const grep = this.options.grep;
    return !grep || `${suitePath(suite)} › ${test.name}`.includes(grep);
  }

  private hasSelected(suite: Suite): boolean {
    return (
      suite.setupError !== undefined ||
      suite.items.some((i) => (isSuite(i) ? this.hasSelected(i) : this.selected(suite, i)))
    );
  }

  async runSuite(suite: Suite): Promise<void> {
    if (suite.setupError !== undefined) return this.fail(suite, '(describe)', suite.setupError);
    if (!this.hasSelected(suite)) return;
    const beforeError = await runHooks(suite.before, `"before all" hook of "${suitePath(suite)}"`);
    try {
      for (const item of suite.items) {
        if (isSuite(item)) await this.runSuite(item);
        else if (!this.selected(suite, item)) continue;
        else if (beforeError !== undefined) this.fail(suite, item.name, beforeError);
        else await this.runTest(suite, item);
      }
    } finally {
      // after-hooks run even when tests or before-hooks failed: they release what was started.
      const afterError = await runHooks(suite.after, `"after all" hook of "${suitePath(suite)}"`);
      if (afterError !== undefined) this.fail(suite, '"after all" hook', afterError);
    }
  }

  private async runTest(suite: Suite, test: Test): Promise<void> {
    const chain = ancestry(suite);
    const start = Date.now();
    let error = await runHooks(
      chain.flatMap((s) => s.beforeEach),
      `"before each" hook for "${test.name}"`,
    );
    if (error === undefined) {
      try {
        await withTimeout(test.body, test.timeoutMs, `test "${test.name}"`);
      } catch (e) {
        error = e;
      }
    }
    const afterError = await runHooks(
      chain.reverse().flatMap((s) => s.afterEach),
      `"after each" hook for "${test.name}"`,
    );
    error ??= afterError;
    const ms = Date.now() - start;
    if (error === undefined) this.record({ suite: suitePath(suite), name: test.name, ok: true, ms });
    else this.fail(suite, test.name, error, ms);
  }
}

/** Runs every registered suite once, in registration order. Never throws: failures are in the report. */
export async function runAll(options: RunOptions = {}): Promise<Report> {
  const runner = new Runner(options);
  await runner.runSuite(root);
  const passed = runner.results.filter((r) => r.ok).length;
  return { passed, failed: runner.results.length - passed, tests: runner.results };
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
