// The test command: bundle the TypeScript tests with esbuild, run the unit tests with Node's own
// runner, then the integration suites and the UI smoke test inside a real VS Code (the VS Code
// server in headless Chromium, see test/vscode-server.ts), then the demo's smoke run (test/demo.ts).
//   node test/run.mjs            all unit tests, then the VS Code tests
//   node test/run.mjs listing    only unit test files whose name contains "listing" (no VS Code tests)
//   RCLONE_DEVBOX_SKIP_VSCODE=1 node test/run.mjs    unit tests only
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filter = process.argv[2] ?? '';
const run = (cmd, args, options = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(process.execPath, ['esbuild.mjs', '--tests']);
const files = readdirSync('out/test/unit')
  .filter((f) => f.endsWith('.test.js') && f.includes(filter))
  .map((f) => join('out/test/unit', f));
if (!files.length) {
  // Node's runner, given no file, would look for test files everywhere under the working folder.
  console.error(`no unit test file in out/test/unit matches "${filter}"`);
  process.exit(2);
}
run(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-timeout=120000', ...files]);

if (!filter && process.env.RCLONE_DEVBOX_SKIP_VSCODE !== '1') {
  // The runner bounds each of its waits; this outer bound sends SIGINT, on which it still cleans up.
  run(process.execPath, ['out/test/vscode-server.js'], { timeout: 60 * 60_000, killSignal: 'SIGINT' });
  // The README's first command, headless: `npm start -- --smoke` mounts and unmounts through the UI.
  run(process.execPath, ['out/test/demo.js', '--smoke'], { timeout: 10 * 60_000, killSignal: 'SIGINT' });
}
