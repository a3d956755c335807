// Runs a snippet of TypeScript that imports the project's own sources in separate Node processes,
// for tests about what several processes on one box do at once (two windows, a window and the CLI).
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from './fixtures';

/** Bundles `source` (imports resolve from the repository root, e.g. './src/core/lock') to `dir/name.js`. */
export function bundleSnippet(dir: string, name: string, source: string): string {
  const outfile = join(dir, `${name}.js`);
  buildSync({
    stdin: { contents: source, loader: 'ts', resolveDir: ROOT, sourcefile: `${name}.ts` },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** Runs `script` in `count` processes at once, each given its index as argv[2]; all must exit 0. */
export async function runInParallel(
  script: string,
  count: number,
  env: Record<string, string> = {},
): Promise<string[]> {
  const runs = Array.from({ length: count }, (_, i) =>
    execa(process.execPath, [script, String(i)], { env, timeout: 120_000, reject: false }),
  );
  const results = await Promise.all(runs);
  for (const r of results) {
    if (r.exitCode !== 0) throw new Error(`a child failed (${r.exitCode}): ${String(r.stderr).slice(0, 2000)}`);
  }
  return results.map((r) => String(r.stdout));
}
