// rclone.conf text, read the way rclone 1.60 reads it, and line-preserving edits of it.
// rclone parses the file with github.com/Unknwon/goconfig v1.0.0 (read.go, conf.go); the rules
// mirrored here are that parser's: lines split at "\n" and trimmed (so CRLF, LF and a mix all
// work), `#`/`;` comments, `[name]` headers, `key = value` or `key: value`, a section that
// appears twice is one section (the later value of a key wins), and a dotted section `a.b`
// falls back to section `a` for keys it lacks. rclone rewrites the whole file when it saves,
// which drops comments and reorders keys; the edits here touch only the lines of the one remote
// being changed, so every other remote, comment, blank line and line ending stays as it was.
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';

/** Keys before the first header belong to this section in goconfig (rclone lists it as a remote). */
const DEFAULT_SECTION = 'DEFAULT';

type Parsed =
  | { kind: 'blank' | 'comment' }
  | { kind: 'section'; name: string }
  | { kind: 'key'; key: string; value: string }
  | { kind: 'bad' };

/** One line as goconfig reads it (goconfig's read(): quoted keys and values included). */
function parseLine(raw: string): Parsed {
  const line = raw.trim();
  if (line === '') return { kind: 'blank' };
  if (line[0] === '#' || line[0] === ';') return { kind: 'comment' };
  if (line[0] === '[' && line.endsWith(']')) return { kind: 'section', name: line.slice(1, -1).trim() };
  let key: string;
  let i: number;
  const keyQuote =
    line.startsWith('"""') && line.length >= 6 ? '"""' : line[0] === '"' || line[0] === '`' ? line[0] : '';
  if (keyQuote) {
    const close = line.indexOf(keyQuote, keyQuote.length);
    i = close < 0 ? -1 : line.slice(close).search(/[=:]/) + close;
    key = line.slice(keyQuote.length, close);
    if (close < 0 || i < close) return { kind: 'bad' };
  } else {
    i = line.search(/[=:]/);
    key = line.slice(0, i).trim();
    if (i <= 0) return { kind: 'bad' };
  }
  const right = line.slice(i + 1).trim();
  const valueQuote =
    right.length >= 2 && right[0] === '`' ? '`' : right.length >= 6 && right.startsWith('"""') ? '"""' : '';
  if (!valueQuote) return { kind: 'key', key, value: right };
  const close = right.lastIndexOf(valueQuote);
  if (close < valueQuote.length) return { kind: 'bad' };
  return { kind: 'key', key, value: right.slice(valueQuote.length, close) };
}

/** A line's text without its line break, and the break itself ("\n", "\r\n", or "" at the end of the file). */
interface Line {
  text: string;
  eol: string;
}

function split(text: string): Line[] {
  const parts = text.replace(/^\uFEFF/, '').split('\n');
  const lines = parts.map((part, i): Line => {
    if (i === parts.length - 1) return { text: part, eol: '' };
    return part.endsWith('\r') ? { text: part.slice(0, -1), eol: '\r\n' } : { text: part, eol: '\n' };
  });
  if (lines.at(-1)!.text === '') lines.pop();
  return lines;
}

const join = (lines: readonly Line[]) => lines.map((l) => l.text + l.eol).join('');
const bom = (text: string) => (text.startsWith('\uFEFF') ? '\uFEFF' : '');

/** What rclone 1.60 sees: each remote's keys, duplicate sections merged, later keys winning. */
export type Conf = Map<string, Map<string, string>>;

/**
 * Reads config text as rclone does; a line rclone cannot parse makes the whole file unusable, so it
 * throws, naming the line of `file` (the config's path, where known).
 */
export function readConf(text: string, file = l10n.t('the rclone config')): Conf {
  const conf: Conf = new Map();
  let section = DEFAULT_SECTION;
  split(text).forEach((line, n) => {
    const parsed = parseLine(line.text);
    if (parsed.kind === 'section') {
      section = parsed.name;
      if (!conf.has(section || DEFAULT_SECTION)) conf.set(section || DEFAULT_SECTION, new Map());
    } else if (parsed.kind === 'bad' || (parsed.kind === 'key' && section === '')) {
      // The line itself is not quoted: it may be a pasted secret.
      throw new RcloneError(
        'ConfigInvalid',
        l10n.t`Line ${n + 1} of ${file} cannot be read, so rclone cannot load it.`,
        {
          fix: l10n.t(
            'Open the config file (`rclone config file`) and make that line `key = value`, a `[remote]` header or a `#` comment.',
          ),
        },
      );
    } else if (parsed.kind === 'key' && parsed.key !== '') {
      if (!conf.has(section)) conf.set(section, new Map());
      conf.get(section)!.set(parsed.key, parsed.value);
    }
  });
  return conf;
}

/** The value rclone uses for `key` of remote `name`: its own, else (for `a.b`) that of an existing section `a`. */
export function confValue(conf: Conf, name: string, key: string): string | undefined {
  for (let section = name; ;) {
    const keys = conf.get(section);
    if (!keys) return undefined;
    const value = keys.get(key);
    if (value !== undefined) return value;
    const dot = section.lastIndexOf('.');
    if (dot < 0) return undefined;
    section = section.slice(0, dot);
  }
}

interface Section {
  name: string;
  /** Index of the [name] line. */
  start: number;
  /** Index one past the section's last key line (comments and blanks after it belong to what follows). */
  end: number;
}

function sections(lines: readonly Line[]): Section[] {
  const found: Section[] = [];
  lines.forEach((line, i) => {
    const parsed = parseLine(line.text);
    if (parsed.kind === 'section') found.push({ name: parsed.name, start: i, end: i + 1 });
    else if (found.length && parsed.kind !== 'blank' && parsed.kind !== 'comment') found.at(-1)!.end = i + 1;
  });
  return found;
}

/** Is there a `[name]` section (read leniently: a line rclone cannot parse is no reason to say no)? */
export function hasRemote(text: string, name: string): boolean {
  return sections(split(text)).some((s) => s.name === name);
}

/** Checks a value can be written as one `key = value` line that rclone reads back unchanged. */
export function checkValue(key: string, value: string): void {
  const problem = !/^[A-Za-z0-9_]+$/.test(key)
    ? l10n.t`"${key}" is not a valid option name.`
    : /[\r\n]/.test(value)
      ? l10n.t`The value of ${key} cannot contain a line break.`
      : value !== value.trim()
        ? l10n.t`The value of ${key} cannot start or end with spaces.`
        : // goconfig strips these quotes, and replaces %(name)s with another key's value.
          /^(`|""")/.test(value) || /%\([^)]+\)s/.test(value)
          ? l10n.t(
              'The value of {0} cannot start with ` or """, or contain %(…)s: rclone would read it differently.',
              key,
            )
          : undefined;
  if (problem) throw new RcloneError('ConfigInvalid', problem, { fix: l10n.t('Change the value and try again.') });
}

/**
 * Sets `values` in remote `name` (created at the end of the file if absent); keys mapped to
 * `undefined` are removed. When the remote's sections repeat, rclone uses the last line of each
 * key: that line is the one changed, and earlier lines of the same key (which rclone ignores,
 * and which would come back to life if it were removed) are dropped. Changed lines keep their
 * position, indentation and line ending; new keys go after the remote's last key.
 */
export function upsertRemote(text: string, name: string, values: Readonly<Record<string, string | undefined>>): string {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) checkValue(k, v);
  const lines = split(text);
  const eol = lines.find((l) => l.eol)?.eol ?? '\n';
  const line = (text: string): Line => ({ text, eol });
  const own = sections(lines).filter((s) => s.name === name);

  if (!own.length) {
    const added = Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : [line(`${k} = ${v}`)]));
    if (lines.length && !lines.at(-1)!.eol) lines.at(-1)!.eol = eol;
    const gap = lines.length && lines.at(-1)!.text.trim() !== '' ? [line('')] : [];
    return bom(text) + join([...lines, ...gap, line(`[${name}]`), ...added]);
  }

  const last = new Map<string, number>(); // key -> index of the line rclone uses
  const drop = new Set<number>();
  for (const s of own) {
    for (let i = s.start + 1; i < s.end; i++) {
      const parsed = parseLine(lines[i]!.text);
      if (parsed.kind !== 'key' || !(parsed.key in values)) continue;
      const earlier = last.get(parsed.key);
      if (earlier !== undefined) drop.add(earlier);
      last.set(parsed.key, i);
    }
  }
  for (const [key, i] of last) {
    const value = values[key];
    if (value === undefined) drop.add(i);
    else lines[i]!.text = `${/^\s*/.exec(lines[i]!.text)![0]}${key} = ${value}`;
  }
  const end = own.at(-1)!.end;
  const added = Object.entries(values).flatMap(([k, v]) =>
    v === undefined || last.has(k) ? [] : [line(`${k} = ${v}`)],
  );
  if (added.length && !lines[end - 1]!.eol) lines[end - 1]!.eol = eol;
  const kept = (from: number, to: number) => lines.slice(from, to).filter((_, j) => !drop.has(from + j));
  return bom(text) + join([...kept(0, end), ...added, ...kept(end, lines.length)]);
}

/** Removes every section of remote `name` (header and key lines, and the blank lines that separated it). */
export function removeRemote(text: string, name: string): string {
  const lines = split(text);
  const own = sections(lines).filter((s) => s.name === name);
  if (!own.length) return text;
  const drop = new Set<number>();
  for (const s of own) {
    let end = s.end;
    while (end < lines.length && lines[end]!.text.trim() === '') end++;
    let start = s.start;
    if (end === lines.length) while (start > 0 && lines[start - 1]!.text.trim() === '') start--;
    for (let i = start; i < end; i++) drop.add(i);
  }
  return bom(text) + join(lines.filter((_, i) => !drop.has(i)));
}
