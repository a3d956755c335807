// Which language the user reads. The editor hands core its own bundle (VS Code picked it from the
// display language); the CLI follows the POSIX locale variables, as other command-line tools do.
// Strings are marked with `l10n.t` from @vscode/l10n (core, CLI) or `vscode.l10n.t` (the editor):
// `npm run l10n` extracts them all into l10n/bundle.l10n.json, and l10n/bundle.l10n.zh-cn.json
// holds their Chinese. A string is translated when it is used, never at module load (the bundle
// is configured after the modules are loaded).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as l10n from '@vscode/l10n';

/** The bundle's locale for a POSIX locale (LC_ALL, then LC_MESSAGES, then LANG), if we have one. */
export function bundleLocale(env: NodeJS.ProcessEnv): string | undefined {
  const posix = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  // zh_CN.UTF-8, zh_SG, zh.UTF-8 and zh-Hans read simplified Chinese; zh_TW and zh_HK do not.
  return /^zh(?:[_-](?:CN|SG|Hans)\b|(?=[.@]|$))/i.test(posix) ? 'zh-cn' : undefined;
}

/** Makes core's and the CLI's `l10n.t` speak the locale of `env`; English needs no bundle. */
export function useLocale(env: NodeJS.ProcessEnv, l10nDir: string): void {
  const locale = bundleLocale(env);
  const file = locale && join(l10nDir, `bundle.l10n.${locale}.json`);
  if (file && existsSync(file)) l10n.config({ fsPath: file });
}

/** Makes core's `l10n.t` speak the editor's language: the bundle VS Code loaded for it. */
export function useBundle(contents: Record<string, string> | undefined): void {
  if (contents) l10n.config({ contents });
}
