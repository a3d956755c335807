// /proc/self/mountinfo: which FUSE mounts exist right now. Reading it spawns nothing.
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  mountPoint: string;
  /** e.g. "fuse.rclone" */
  fsType: string;
  /** What was mounted, e.g. "remote:bucket/path" for rclone. */
  source: string;
}

/** The kernel writes space, tab, newline and backslash in paths as \040, \011, \012, \134. */
export const decodeMountPath = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Parses mountinfo text (see proc(5)): fields 5 (mount point), and after " - ": fs type, source. */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    if (before.length < 5 || after.length < 2) continue;
    entries.push({ mountPoint: decodeMountPath(before[4]!), fsType: after[0]!, source: decodeMountPath(after[1]!) });
  }
  return entries;
}

export async function readRcloneMounts(file = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  return parseMountinfo(await readFile(file, 'utf8')).filter((e) => e.fsType === 'fuse.rclone');
}
