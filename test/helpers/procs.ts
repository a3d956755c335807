// Finding the rclone processes a test started, by what their argv says (read from /proc; no
// process is spawned, and other users' rclones are never matched by a test's own temp paths).
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of rclone processes whose argv passes `matches`. */
export function rclonePidsWhere(matches: (argv: string[]) => boolean): number[] {
  return readdirSync('/proc')
    .filter((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv[0]?.endsWith('rclone') === true && matches(argv);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** The rclone processes with `needle` as one of their arguments. */
export const rclonePids = (needle: string) => rclonePidsWhere((argv) => argv.includes(needle));
