// `npm run readme`: the README's tables, made from what the code declares, so that they cannot drift.
// Between marker comments (`<!-- generated:NAME -->` … `<!-- /generated:NAME -->`) in README.md and
// README.zh-CN.md it writes:
//   settings         package.json's contributes.configuration (and a mount profile's fields)
//   commands         contributes.commands, and where each appears (palette, view title, tree rows)
//   task             the `rclone-devbox` task definition's properties (contributes.taskDefinitions)
//   troubleshooting  TROUBLES of src/core/errors.ts: the message users see, its cause, what to do
// package.json's "%key%" strings are read from package.nls.json (package.nls.zh-cn.json for the
// Chinese README, falling back to English), TROUBLES in Chinese from l10n/bundle.l10n.zh-cn.json
// (English where a string has no translation yet). Everything outside the markers is left as it is;
// the result is formatted by the repository's prettier, as `npm run format` would.
//   node out/test/readme.js    (re)writes README.md and README.zh-CN.md
// test/unit/readme.test.ts fails when either file differs from what this makes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as l10n from '@vscode/l10n';
import { type ErrorKind, TROUBLES } from '../src/core/errors';
import { ROOT } from './helpers/root';

export type ReadmeLocale = 'en' | 'zh-cn';

/** Each README and the language of its generated tables. */
export const READMES: Readonly<Record<ReadmeLocale, string>> = { en: 'README.md', 'zh-cn': 'README.zh-CN.md' };

/** The generated sections, in the order they appear in the READMEs. */
export const SECTIONS = ['settings', 'commands', 'task', 'troubleshooting'] as const;
export type Section = (typeof SECTIONS)[number];

/** Kinds that are no trouble to look up: a cancelled operation is what the user asked for. */
const NOT_TROUBLE: readonly ErrorKind[] = ['Cancelled'];

const WORDS = {
  en: {
    settingsHead: ['setting', 'type', 'default', 'what it does'],
    fieldsHead: ['field', 'type', 'default', 'what it does'],
    fieldsOf: (setting: string, required: string) => `Fields of each entry of \`${setting}\` (${required} required):`,
    and: ' and ',
    empty: '_(empty)_',
    none: '',
    commandsHead: ['command', 'id', 'where'],
    palette: 'Command Palette',
    viewTitle: (view: string) => `${view} view title`,
    inline: (kinds: string) => `button on ${kinds} rows`,
    menu: (kinds: string) => `context menu of ${kinds} rows`,
    hidden: 'only by a click (a status bar item or a tree row)',
    taskHead: ['property', 'type', 'required', 'what it does'],
    yes: 'yes',
    troubleHead: ['message', 'cause', 'what to do'],
    row: {
      remote: 'remote',
      bucket: 'bucket',
      folder: 'folder',
      file: 'file',
      version: 'version',
      filtered: 'filtered',
    } as Record<string, string>,
    list: ', ',
    sep: '; ',
    colon: ': ',
  },
  'zh-cn': {
    settingsHead: ['设置', '类型', '默认值', '作用'],
    fieldsHead: ['字段', '类型', '默认值', '作用'],
    fieldsOf: (setting: string, required: string) => `\`${setting}\` 中每一项的字段（${required} 必填）：`,
    and: '、',
    empty: '_（空）_',
    none: '',
    commandsHead: ['命令', 'ID', '位置'],
    palette: '命令面板',
    viewTitle: (view: string) => `${view}视图标题栏`,
    inline: (kinds: string) => `${kinds}行上的按钮`,
    menu: (kinds: string) => `${kinds}行的右键菜单`,
    hidden: '只通过点击（状态栏项或树中的行）运行',
    taskHead: ['属性', '类型', '必填', '作用'],
    yes: '是',
    troubleHead: ['消息', '原因', '解决办法'],
    row: {
      remote: '远程存储',
      bucket: '存储桶',
      folder: '文件夹',
      file: '文件',
      version: '模型版本',
      filtered: '已筛选的',
    } as Record<string, string>,
    list: '、',
    sep: '；',
    colon: '：',
  },
} as const;
type Words = (typeof WORDS)[ReadmeLocale];

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  enumDescriptions?: string[];
  default?: unknown;
  description?: string;
  markdownDescription?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  required?: string[];
  minimum?: number;
  maximum?: number;
}

interface Manifest {
  capabilities?: { untrustedWorkspaces?: { description?: string; restrictedConfigurations?: string[] } };
  contributes: {
    configuration: { properties: Record<string, Schema> };
    commands: { command: string; title: string; category?: string }[];
    views?: Record<string, { id: string; name: string }[]>;
    menus?: Record<string, { command: string; when?: string; group?: string }[]>;
    taskDefinitions: (Schema & { type: string })[];
  };
}

type Nls = Record<string, string | { message: string; comment?: string[] }>;

const readJson = <T>(file: string): T | undefined =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;

/** package.json's "%key%" strings in the README's language (English where a key has no translation). */
function nlsResolver(root: string, locale: ReadmeLocale): (s: string | undefined) => string {
  const en = readJson<Nls>(join(root, 'package.nls.json')) ?? {};
  const local = locale === 'en' ? {} : (readJson<Nls>(join(root, `package.nls.${locale}.json`)) ?? {});
  const text = (v: Nls[string] | undefined) => (typeof v === 'string' ? v : v?.message);
  return (s) => {
    if (s === undefined) return '';
    const key = /^%([^%]+)%$/.exec(s)?.[1];
    return key === undefined ? s : (text(local[key]) ?? text(en[key]) ?? s);
  };
}

/** A Markdown table cell: one line, `|` escaped, and `<` outside code spans kept from reading as HTML. */
export function cell(markdown: string): string {
  return markdown
    .replace(/```\w*\n([\s\S]*?)\n?```/g, (_m, code: string) => `\`${code.trim().replace(/\s*\n\s*/g, ' ')}\``)
    .replace(/\s*\n\s*/g, ' ')
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;')))
    .join('')
    .replace(/\|/g, '\\|')
    .trim();
}

const code = (s: string) => `\`${s}\``;

function table(head: readonly string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** A description from a JSON schema: its Markdown, `#setting#` links as code, enum values explained. */
function explain(s: Schema, w: Words, t: (x: string | undefined) => string): string {
  let text = t(s.markdownDescription ?? s.description).replace(/#([\w.]+)#/g, (_m, name: string) => code(name));
  if (s.enum && s.enumDescriptions)
    text += ` ${s.enum.map((v, i) => `${code(String(v))}${w.colon}${t(s.enumDescriptions![i])}`).join(' ')}`;
  return cell(text);
}

function typeOf(s: Schema): string {
  if (s.enum) return s.enum.map((v) => code(String(v))).join(', ');
  const type = Array.isArray(s.type) ? s.type.join(' or ') : (s.type ?? '');
  if (type === 'array' && s.items) return code(`${typeof s.items.type === 'string' ? s.items.type : 'object'}[]`);
  if (
    type === 'object' &&
    typeof s.additionalProperties === 'object' &&
    typeof s.additionalProperties.type === 'string'
  )
    return code(`{ [name]: ${s.additionalProperties.type} }`);
  if (type === 'number' && s.minimum !== undefined && s.maximum !== undefined)
    return `${code('number')} (${s.minimum}–${s.maximum})`;
  return code(type);
}

function defaultOf(s: Schema, w: Words): string {
  if (s.default === undefined) return w.none;
  if (s.default === '') return w.empty;
  return cell(code(typeof s.default === 'string' ? s.default : JSON.stringify(s.default)));
}

function settings(m: Manifest, w: Words, t: (x: string | undefined) => string): string {
  const props = m.contributes.configuration.properties;
  const out = [
    table(
      w.settingsHead,
      Object.entries(props).map(([name, s]) => [code(name), typeOf(s), defaultOf(s, w), explain(s, w, t)]),
    ),
  ];
  for (const [name, s] of Object.entries(props)) {
    const fields = s.items?.properties;
    if (!fields) continue;
    const required = s.items?.required ?? [];
    out.push(
      w.fieldsOf(name, required.map(code).join(w.and)),
      table(
        w.fieldsHead,
        // A required field's "default" only seeds completion: it is no default.
        Object.entries(fields).map(([f, fs]) => [
          code(f),
          typeOf(fs),
          required.includes(f) ? w.none : defaultOf(fs, w),
          explain(fs, w, t),
        ]),
      ),
    );
  }
  const trust = m.capabilities?.untrustedWorkspaces?.description;
  if (trust) out.push(cell(t(trust)));
  return out.join('\n\n');
}

/** The tree row kinds a menu's `when` clause names (`viewItem == version`, `viewItem =~ /^(bucket|folder)…/`). */
function rowKinds(when: string): string[] {
  const m =
    /viewItem\s*==\s*([\w.]+)/.exec(when) ??
    /viewItem\s*=~\s*\/\^(\([^)]*\)|\w+)/.exec(when) ??
    /viewItem\s*=~\s*\/\W*(\w+)/.exec(when); // only a suffix, as in / filtered$/
  return m
    ? m[1]!
        .replace(/[()]/g, '')
        .split('|')
        .map((k) => k.split(/[.\\]/)[0]!)
    : [];
}

function commands(m: Manifest, w: Words, t: (x: string | undefined) => string): string {
  const menus = m.contributes.menus ?? {};
  const views = Object.values(m.contributes.views ?? {}).flat();
  const rows = m.contributes.commands.map((c) => {
    const where: string[] = [];
    const hidden = (menus.commandPalette ?? []).some((e) => e.command === c.command && e.when === 'false');
    if (!hidden) where.push(w.palette);
    for (const e of menus['view/title'] ?? []) {
      if (e.command !== c.command) continue;
      const view = views.find((v) => e.when?.includes(`view == ${v.id}`));
      const label = w.viewTitle(t(view?.name ?? ''));
      if (!where.includes(label)) where.push(label);
    }
    const inline = new Set<string>();
    const menu = new Set<string>();
    for (const e of menus['view/item/context'] ?? [])
      if (e.command === c.command)
        for (const k of rowKinds(e.when ?? '')) (e.group?.startsWith('inline') ? inline : menu).add(k);
    const named = (kinds: Set<string>) => [...kinds].map((k) => w.row[k] ?? k).join(w.list);
    if (inline.size) where.push(w.inline(named(inline)));
    if (menu.size) where.push(w.menu(named(menu)));
    if (hidden && where.length === 0) where.push(w.hidden);
    const title = c.category ? `${t(c.category)}: ${t(c.title)}` : t(c.title);
    return [cell(title), code(c.command), cell(where.join(w.sep))];
  });
  return table(w.commandsHead, rows);
}

function task(m: Manifest, w: Words, t: (x: string | undefined) => string): string {
  const def = m.contributes.taskDefinitions.find((d) => d.type === 'rclone-devbox');
  if (!def?.properties) throw new Error('package.json has no "rclone-devbox" task definition');
  const required = new Set(def.required ?? []);
  return table(
    w.taskHead,
    Object.entries(def.properties).map(([name, s]) => [
      code(name),
      typeOf(s),
      required.has(name) ? w.yes : '',
      explain(s, w, t),
    ]),
  );
}

function troubleshooting(w: Words): string {
  const rows = (Object.keys(TROUBLES) as ErrorKind[])
    .filter((kind) => !NOT_TROUBLE.includes(kind))
    .map((kind) => {
      const { seen, cause, fix } = TROUBLES[kind];
      return [cell(seen), cell(cause), cell(fix)];
    });
  return table(w.troubleHead, rows);
}

/** Core's strings in `locale` (English for those without a translation); English again for 'en'. */
function useLocale(root: string, locale: ReadmeLocale): void {
  const bundle =
    locale === 'en' ? undefined : readJson<Record<string, string>>(join(root, `l10n/bundle.l10n.${locale}.json`));
  l10n.config({ contents: bundle ?? {} });
}

/** The generated body of each section, in the README's language. */
export function sections(root: string, locale: ReadmeLocale = 'en'): Record<Section, string> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;
  const t = nlsResolver(root, locale);
  const w = WORDS[locale];
  useLocale(root, locale);
  try {
    return {
      settings: settings(manifest, w, t),
      commands: commands(manifest, w, t),
      task: task(manifest, w, t),
      troubleshooting: troubleshooting(w),
    };
  } finally {
    useLocale(root, 'en');
  }
}

/** `text` with each section's body put between its markers; a missing marker is an error. */
export function fill(text: string, bodies: Record<Section, string>, file = 'README'): string {
  for (const name of SECTIONS) {
    const open = `<!-- generated:${name} -->`;
    const close = `<!-- /generated:${name} -->`;
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start < 0 || end < start) throw new Error(`${file} has no "${open}" … "${close}" markers`);
    text = `${text.slice(0, start + open.length)}\n\n${bodies[name]}\n\n${text.slice(end)}`;
  }
  return text;
}

/** Formats Markdown the way `npm run format` does (the repository's prettier and its config). */
function prettier(root: string, file: string, text: string): string {
  return execFileSync(
    process.execPath,
    [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--stdin-filepath', file],
    {
      cwd: root,
      input: text,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

/** The README of `locale` as the generator makes it from the one in `root` (or from `current`). */
export function generateReadme(root: string, locale: ReadmeLocale = 'en', current?: string): string {
  const file = READMES[locale];
  const text = current ?? readFileSync(join(root, file), 'utf8');
  return prettier(root, join(root, file), fill(text, sections(root, locale), file));
}

if (require.main === module) {
  for (const locale of Object.keys(READMES) as ReadmeLocale[]) {
    const file = join(ROOT, READMES[locale]);
    const before = readFileSync(file, 'utf8');
    const after = generateReadme(ROOT, locale, before);
    if (after !== before) writeFileSync(file, after);
    console.log(`${READMES[locale]}: ${after === before ? 'unchanged' : 'updated'}`);
  }
}
