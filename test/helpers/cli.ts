// Running the built CLI (dist/cli.js, rebuilt by test/run.mjs) the way a user does: a separate
// Node process, an argument array, its own state and cache folders. Every run is bounded and
// awaited to its end; no output may carry the test server's secret.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { join } from 'node:path';
import { type Box, ROOT, SECRET_KEY } from './fixtures';

/** dist/cli.js; RCLONE_DEVBOX_TEST_CLI runs the tests against another build (e.g. the last commit's). */
export const CLI = process.env.RCLONE_DEVBOX_TEST_CLI || join(ROOT, 'dist/cli.js');

export interface CliRun {
  code: number | undefined;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment of a CLI run: the box's rclone environment and config, state and caches under `dir`. */
export function cliEnv(box: Box, dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...box.rclone.env,
    RCLONE_CONFIG: box.configFile,
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    RCLONE_DEVBOX_VERBOSE: '',
    ...extra,
  };
}

/** Runs the CLI to its end (bounded); `cwd` is the folder whose .vscode/ it reads (up, status, doctor). */
export async function cli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
  cwd?: string,
): Promise<CliRun> {
  const t0 = performance.now();
  const r = await execa(process.execPath, [CLI, ...args], {
    env,
    cwd,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: timeoutMs,
  });
  const run = { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - t0 };
  assert.ok(!`${run.stdout}${run.stderr}`.includes(SECRET_KEY), `a secret reached the output of ${args.join(' ')}`);
  return run;
}
