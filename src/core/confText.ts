// Line-preserving edits of rclone.conf text. rclone rewrites the whole file when it saves, which
// drops comments and reorders keys; these functions touch only the lines of the one remote being
// changed, so every other remote, comment and blank line stays byte-for-byte as it was.

const header = /^\s*\[([^\]]*)\]\s*$/;
const assignment = /^(\s*)([^=;#\s][^=]*?)\s*=/;

interface Section {
  name: string;
  /** Index of the [name] line. */
  start: number;
  /** Index one past the section's last key line (comments and blanks after it belong to what follows). */
  end: number;
}

function sections(lines: readonly string[]): Section[] {
  const found: Section[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = header.exec(lines[i]!);
    if (!m) continue;
    const prev = found.at(-1);
    if (prev) prev.end = lastKeyLine(lines, prev.start, i) + 1;
    found.push({ name: m[1]!.trim(), start: i, end: lines.length });
  }
  const last = found.at(-1);
  if (last) last.end = lastKeyLine(lines, last.start, lines.length) + 1;
  return found;
}

function lastKeyLine(lines: readonly string[], start: number, limit: number): number {
  let last = start;
  for (let i = start + 1; i < limit; i++) if (assignment.test(lines[i]!)) last = i;
  return last;
}

function split(text: string): { lines: string[]; eol: string } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  if (lines.at(-1) === '') lines.pop(); // a final newline is restored by join()
  return { lines, eol };
}

const join = (lines: readonly string[], eol: string) => (lines.length ? lines.join(eol) + eol : '');

export function hasRemote(text: string, name: string): boolean {
  return sections(split(text).lines).some((s) => s.name === name);
}

export function remoteNames(text: string): string[] {
  return sections(split(text).lines).map((s) => s.name);
}

/** Checks a value can be written as one `key = value` line that rclone reads back unchanged. */
export function checkValue(key: string, value: string): void {
  if (!/^[A-Za-z0-9_]+$/.test(key)) throw new Error(`"${key}" is not a valid option name.`);
  if (/[\r\n]/.test(value)) throw new Error(`The value of ${key} cannot contain a line break.`);
  if (value !== value.trim()) throw new Error(`The value of ${key} cannot start or end with spaces.`);
}

/**
 * Sets `values` in remote `name` (created at the end of the file if absent). Keys mapped to
 * `undefined` are removed. Existing lines of the remote keep their position and indentation.
 */
export function upsertRemote(text: string, name: string, values: Readonly<Record<string, string | undefined>>): string {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) checkValue(k, v);
  const { lines, eol } = split(text);
  const section = sections(lines).find((s) => s.name === name);

  if (!section) {
    const added = Object.entries(values).flatMap(([k, v]) => (v === undefined ? [] : [`${k} = ${v}`]));
    const gap = lines.length && lines.at(-1)!.trim() !== '' ? [''] : [];
    return join([...lines, ...gap, `[${name}]`, ...added], eol);
  }

  const pending = new Map(Object.entries(values));
  const body: string[] = [];
  for (let i = section.start + 1; i < section.end; i++) {
    const line = lines[i]!;
    const m = assignment.exec(line);
    const key = m?.[2];
    if (key === undefined || !pending.has(key)) {
      body.push(line);
      continue;
    }
    const value = pending.get(key);
    pending.delete(key);
    if (value !== undefined) body.push(`${m![1]}${key} = ${value}`);
  }
  for (const [k, v] of pending) if (v !== undefined) body.push(`${k} = ${v}`);
  return join([...lines.slice(0, section.start + 1), ...body, ...lines.slice(section.end)], eol);
}

/** Removes remote `name` (its header and key lines, and the blank line that separated it). */
export function removeRemote(text: string, name: string): string {
  const { lines, eol } = split(text);
  const section = sections(lines).find((s) => s.name === name);
  if (!section) return text;
  let end = section.end;
  while (end < lines.length && lines[end]!.trim() === '') end++;
  let start = section.start;
  if (end === lines.length) while (start > 0 && lines[start - 1]!.trim() === '') start--;
  return join([...lines.slice(0, start), ...lines.slice(end)], eol);
}
