// Every string a user reads exists in Chinese, and nothing in the Chinese files is left over:
// the runtime strings (`l10n.t` / `vscode.l10n.t`, extracted by @vscode/l10n-dev the way
// `npm run l10n` does) against l10n/bundle.l10n.zh-cn.json, and the contributed ones
// (package.json's %keys%) against package.nls.json and package.nls.zh-cn.json.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundleLocale } from '../../src/core/locale';
import { ROOT } from '../helpers/root';

type Bundle = Record<string, string | { message: string; comment: string[] }>;
const readJson = <T>(file: string, fallback?: T): T =>
  existsSync(file) || fallback === undefined ? (JSON.parse(readFileSync(file, 'utf8')) as T) : fallback;
const message = (v: Bundle[string]) => (typeof v === 'string' ? v : v.message);
/** The placeholders of a message ({0}, {name}), sorted: a translation must keep every one. */
const placeholders = (s: string) => [...s.matchAll(/\{[^{}\s]+\}/g)].map((m) => m[0]).sort();

describe('l10n: every string in Chinese, nothing left over', () => {
  it('l10n/bundle.l10n.json is what the sources mark (run `npm run l10n` after changing a string)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdb-l10n-'));
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/vscode-l10n-dev'), ['export', '-o', dir, 'src'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      const extracted = readJson<Bundle>(join(dir, 'bundle.l10n.json'), {});
      assert.deepEqual(readJson<Bundle>(join(ROOT, 'l10n/bundle.l10n.json'), {}), extracted);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every runtime string has a zh-cn entry with the same placeholders, and every entry a source', () => {
    const source = readJson<Bundle>(join(ROOT, 'l10n/bundle.l10n.json'), {});
    const zh = readJson<Record<string, string>>(join(ROOT, 'l10n/bundle.l10n.zh-cn.json'));
    const missing = Object.keys(source).filter((k) => !(k in zh));
    const orphans = Object.keys(zh).filter((k) => !(k in source));
    assert.deepEqual(missing, [], 'strings without a zh-cn entry');
    assert.deepEqual(orphans, [], 'zh-cn entries whose string is gone');
    for (const [key, value] of Object.entries(source)) {
      assert.deepEqual(placeholders(zh[key]!), placeholders(message(value)), `placeholders of ${JSON.stringify(key)}`);
      assert.notEqual(zh[key]!.trim(), '', `empty translation of ${JSON.stringify(key)}`);
    }
  });

  it("package.json's %keys% are in package.nls.json, and package.nls.zh-cn.json has exactly its keys", () => {
    const manifest = readFileSync(join(ROOT, 'package.json'), 'utf8');
    const used = new Set([...manifest.matchAll(/"%([^%"]+)%"/g)].map((m) => m[1]!));
    const nls = readJson<Record<string, string>>(join(ROOT, 'package.nls.json'), {});
    const zh = readJson<Record<string, string>>(join(ROOT, 'package.nls.zh-cn.json'), {});
    assert.deepEqual(
      [...used].filter((k) => !(k in nls)),
      [],
      'keys package.json uses but package.nls.json lacks',
    );
    assert.deepEqual(
      Object.keys(nls).filter((k) => !used.has(k)),
      [],
      'package.nls.json keys nothing uses',
    );
    assert.deepEqual(Object.keys(nls).sort(), Object.keys(zh).sort(), 'package.nls.zh-cn.json keys');
    for (const [key, value] of Object.entries(nls))
      assert.deepEqual(placeholders(zh[key]!), placeholders(value), `placeholders of ${key}`);
  });

  it('the CLI reads simplified Chinese for zh_CN, zh_SG, zh and zh-Hans; not zh_TW, not English', () => {
    for (const lang of ['zh_CN.UTF-8', 'zh_SG', 'zh.UTF-8', 'zh', 'zh-Hans', 'zh_CN'])
      assert.equal(bundleLocale({ LANG: lang }), 'zh-cn', lang);
    for (const lang of ['zh_TW.UTF-8', 'zh_HK', 'en_US.UTF-8', 'C.UTF-8', '', 'zhx'])
      assert.equal(bundleLocale({ LANG: lang }), undefined, lang);
    assert.equal(bundleLocale({ LC_ALL: 'en_US.UTF-8', LANG: 'zh_CN.UTF-8' }), undefined, 'LC_ALL comes first');
    assert.equal(bundleLocale({ LC_MESSAGES: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' }), 'zh-cn', 'then LC_MESSAGES');
  });
});
