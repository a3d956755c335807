// Bundles the extension and the CLI (and, on request, the tests and benchmarks) with esbuild.
//   node esbuild.mjs               development build of dist/
//   node esbuild.mjs --production  minified, no sourcemaps
//   node esbuild.mjs --production --outdir=<dir>  the same into <dir> (the VSIX test's staging copy)
//   node esbuild.mjs --watch       rebuild dist/ on change
//   node esbuild.mjs --tests       also bundle into out/: test/unit/*.test.ts, test/demo.ts, the
//                                  integration tests entry (test/integration/index.ts, run by VS Code's
//                                  extension host), its runners test/vscode-server.ts, test/electron.ts,
//                                  and the README generator test/readme.ts (npm run readme)
//   node esbuild.mjs --bench       also bundle bench/*.bench.ts into out/
import * as esbuild from 'esbuild';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = new Set(process.argv.slice(2));
const production = args.has('--production');

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const filesUnder = (dir, suffix) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => join(e.parentPath ?? e.path, e.name));

const outdir = process.argv.find((a) => a.startsWith('--outdir='))?.slice('--outdir='.length) ?? 'dist';
// dist/cli.js is the `rclone-devbox` command: a small launcher (src/cliStart.ts) that runs the CLI,
// dist/cli-main.js, with V8's code cache.
const builds = [
  {
    ...common,
    entryPoints: { extension: 'src/extension.ts', cli: 'src/cliStart.ts', 'cli-main': 'src/cli.ts' },
    outdir,
  },
];
if (args.has('--tests')) {
  // playwright-core is never imported statically: the runner loads it from .cache/ at run time.
  const entryPoints = [
    ...filesUnder('test/unit', '.test.ts'),
    'test/demo.ts',
    'test/readme.ts',
    'test/integration/index.ts',
    'test/vscode-server.ts',
    'test/electron.ts',
  ];
  // esbuild stays external: tests bundle snippets for child processes with its API (test/helpers/child.ts).
  // mocha too: the integration entry loads it from node_modules inside the extension host.
  builds.push({ ...common, external: ['vscode', 'esbuild', 'mocha'], entryPoints, outbase: '.', outdir: 'out' });
}
if (args.has('--bench')) {
  builds.push({ ...common, entryPoints: filesUnder('bench', '.bench.ts'), outbase: '.', outdir: 'out' });
}

if (args.has('--watch')) {
  const ctx = await esbuild.context(builds[0]);
  await ctx.watch();
  console.log('watching src/ …');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync(join(outdir, 'cli.js'), 0o755); // runnable as itself, the way the installed `rclone-devbox` is
}
