// JSON with comments, as VS Code writes settings.json, tasks.json and the team profile.
import { readFile } from 'node:fs/promises';
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';

/** A workspace file's text, undefined when it does not exist; ConfigInvalid when it cannot be read. */
export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RcloneError('ConfigInvalid', l10n.t`Cannot read ${file}.`, { detail: (e as Error).message });
  }
}

/**
 * JSON with comments and trailing commas (VS Code's settings.json and tasks.json) as plain JSON:
 * comments and those commas become spaces, so JSON.parse's positions still point into the file.
 */
export function stripJsonc(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop - 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop - 1;
    } else if (c === ',' && closes(text, i + 1)) out += ' ';
    else out += c;
  }
  return out;
}

/** Whether the next thing in `text` from `i`, past white space and comments, is a `}` or `]`. */
function closes(text: string, i: number): boolean {
  while (i < text.length) {
    if (/\s/.test(text[i]!)) i++;
    else if (text.startsWith('//', i)) i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
    else if (text.startsWith('/*', i)) i = text.indexOf('*/', i + 2) < 0 ? text.length : text.indexOf('*/', i + 2) + 2;
    else return text[i] === '}' || text[i] === ']';
  }
  return false;
}
