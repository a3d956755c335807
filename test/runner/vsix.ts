// The VSIX a user installs: `npm run package`'s steps (production bundle, then vsce with the
// .vscodeignore allowlist) run in a staging copy of the repository's shipped files, so the
// development build in dist/ is left alone; then installed into a VS Code server's extensions
// folder with the server's own `--install-extension`, as `code --install-extension` does.
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/root';
import type { TestBox } from '../integration/box';
import type { VscodeServerInstall } from './vscodeCache';

/** The most a VSIX may weigh. */
export const VSIX_LIMIT_KB = 300;

/** What the allowlist must ship, and nothing else (vsce's names, relative to the extension). */
const SHIPPED = [
  /^dist\/(extension|cli|cli-main)\.js$/,
  /^media\/(rclone\.svg|icon\.png)$/,
  /^media\/walkthrough\/[\w-]+\.svg$/,
  /^media\/schema\/[\w.-]+\.json$/,
  /^l10n\/bundle\.l10n\.[\w-]+\.json$/,
  /^package(\.nls(\.[\w-]+)?)?\.json$/,
  /^README(\.zh-CN)?\.md$/,
  /^CHANGELOG\.md$/,
  /^LICENSE$/,
];

export interface Vsix {
  file: string;
  kb: number;
  /** The files it holds, as `vsce ls` names them. */
  files: string[];
}

/** Builds the VSIX into `dir` from a staging copy of the shipped files; checks its size and contents. */
export async function packageVsix(dir: string): Promise<Vsix> {
  const stage = join(dir, 'stage');
  mkdirSync(stage, { recursive: true });
  for (const name of readdirSync(ROOT)) {
    if (/^(package(\.nls.*)?\.json|README.*\.md|CHANGELOG\.md|LICENSE|\.vscodeignore)$/.test(name))
      cpSync(join(ROOT, name), join(stage, name));
  }
  for (const folder of ['media', 'l10n'])
    if (existsSync(join(ROOT, folder))) cpSync(join(ROOT, folder), join(stage, folder), { recursive: true });
  await execa(process.execPath, ['esbuild.mjs', '--production', `--outdir=${join(stage, 'dist')}`], { cwd: ROOT });
  const vsce = join(ROOT, 'node_modules', '.bin', 'vsce');
  const listed = await execa(vsce, ['ls', '--no-dependencies'], { cwd: stage });
  const files = listed.stdout.split('\n').filter(Boolean).sort();
  const unexpected = files.filter((f) => !SHIPPED.some((re) => re.test(f)));
  if (unexpected.length)
    throw new Error(`the VSIX would ship files the allowlist should leave out: ${unexpected.join(', ')}`);
  const musts = [
    'dist/extension.js',
    'dist/cli.js',
    'dist/cli-main.js',
    'package.json',
    'README.md',
    'media/icon.png',
    'media/schema/rclone-devbox.schema.json', // package.json's jsonValidation points at it
  ];
  for (const must of musts)
    if (!files.includes(must)) throw new Error(`the VSIX would not ship ${must}: ${files.join(', ')}`);
  const file = join(dir, 'rclone-devbox.vsix');
  await execa(vsce, ['package', '--no-dependencies', '--out', file], { cwd: stage });
  const kb = statSync(file).size / 1024;
  if (kb > VSIX_LIMIT_KB) throw new Error(`the VSIX weighs ${kb.toFixed(1)} KB, over ${VSIX_LIMIT_KB} KB`);
  return { file, kb, files };
}

/**
 * A stand-in for Microsoft's Chinese (Simplified) language pack, which cannot be downloaded here
 * (no internet): the entry its installation leaves in the user data folder's languagepacks.json,
 * pointing at an empty translation of VS Code's own strings. The server then runs the window in
 * zh-cn (VS Code's UI stays English; extensions get `vscode.env.language` = zh-cn and their own
 * package.nls.zh-cn.json and l10n bundle). Only this box's data folder is written.
 */
export function standInChinesePack(tb: TestBox): void {
  const translations = join(ROOT, 'test', 'fixtures', 'zh-cn-core.i18n.json');
  const entry = {
    'zh-cn': {
      hash: 'rclonedevboxtest',
      extensions: [{ extensionIdentifier: { id: 'rclone-devbox-tests.zh-cn-stand-in' }, version: '0.0.1' }],
      translations: { vscode: translations },
      label: '中文(简体)',
    },
  };
  writeFileSync(join(tb.dataDir, 'languagepacks.json'), JSON.stringify(entry));
}

/** Installs `vsix` into the box's extensions folder with the server's CLI; returns the installed folder. */
export async function installVsix(
  install: VscodeServerInstall,
  tb: TestBox,
  vsix: string,
  id = 'rclone-devbox.rclone-devbox',
): Promise<string> {
  const args = [
    install.serverMain,
    '--install-extension',
    vsix,
    '--extensions-dir',
    tb.extensionsDir,
    '--server-data-dir',
    tb.dataDir,
    '--user-data-dir',
    tb.dataDir,
    '--accept-server-license-terms',
  ];
  const r = await execa(install.node, args, { timeout: 120_000, reject: false, all: true });
  if (r.exitCode !== 0 || !/successfully installed/.test(r.all ?? ''))
    throw new Error(`--install-extension failed (${r.exitCode}): ${r.all}`);
  const folder = readdirSync(tb.extensionsDir).find((n) => n.startsWith(`${id}-`));
  if (!folder || !existsSync(join(tb.extensionsDir, folder, 'package.json')))
    throw new Error(`no installed ${id} in ${tb.extensionsDir}: ${readdirSync(tb.extensionsDir).join(', ')}`);
  return join(tb.extensionsDir, folder);
}
