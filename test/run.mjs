// The test command: bundle the TypeScript tests with esbuild, then run them with Node's own runner.
//   node test/run.mjs            all unit tests
//   node test/run.mjs listing    only test files whose name contains "listing"
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filter = process.argv[2] ?? '';
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(process.execPath, ['esbuild.mjs', '--tests']);
const files = readdirSync('out/test/unit')
  .filter((f) => f.endsWith('.test.js') && f.includes(filter))
  .map((f) => join('out/test/unit', f));
run(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', '--test-timeout=120000', ...files]);
