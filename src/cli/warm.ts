// `rclone-devbox prewarm`: fills the directory cache of the mount holding a folder (and, with
// --content, its VFS cache with the files), so an app's first look does not wait on the bucket.
// Loaded only when it runs. Progress is one line rewritten on a terminal, and nothing at all when
// stderr is a file or a pipe (a boot script's log gets the result line only).
import * as l10n from '@vscode/l10n';
import { MountRegistry } from '../core/mounts';
import { formatBytes } from '../core/files';
import { type ContentProgress, mountHolding, prewarm, type PrewarmResult, type WarmTarget } from '../core/prewarm';
import type { Rclone } from '../core/rclone';
import type { Options } from './args';
import type { Io } from './mounts';

export async function warmCommand([dir]: string[], o: Options, rclone: () => Promise<Rclone>, io: Io): Promise<number> {
  const registry = new MountRegistry(rclone, { log: io.log });
  const held = await mountHolding(registry, dir!);
  if (!held) {
    io.err(l10n.t`No mount holds ${dir!}: there is nothing to warm.`);
    io.err(
      l10n.t(
        'Mount the bucket first (`rclone-devbox mount <remote:path> <dir>`); `rclone-devbox mounts` lists what is mounted.',
      ),
    );
    return 1;
  }
  const { target, path } = held;
  io.context.dir = target.mountPoint;
  const content = o.content === true;
  const status = io.status;
  let result: PrewarmResult;
  try {
    result = await prewarm(registry, target, [path], {
      content,
      signal: io.signal,
      onMetadata:
        status &&
        ((p) =>
          status(
            content && p.done === p.total
              ? l10n.t`listing… ${count(p.files)} files known; finding the files to read…`
              : l10n.t`listing… ${count(p.files)} files known`,
          )),
      onContent: status && ((p) => status(contentLine(p))),
    });
  } finally {
    status?.(''); // the progress line goes: what follows starts on a clean line
  }
  if (o.json) {
    io.out(JSON.stringify({ ...result, target: shown(result.target) }, null, 2));
    return 0;
  }
  const what = path ? l10n.t`${path} on ${target.mountPoint}` : target.mountPoint;
  const { files, dirs, ms, way } = result.metadata;
  const counts = l10n.t`${files} files, ${dirs} folders in ${seconds(ms)}`;
  io.out(
    way === 'rc'
      ? l10n.t`Warmed ${what}: ${counts}; listings kept until ${when(result.until)} (dir cache time)`
      : l10n.t`Walked ${what} through the mount (another tool's mount: no rc of ours, the slow way): ${counts}; listings kept until ${when(result.until)} if it has rclone's default dir cache time (5m)`,
  );
  const c = result.content;
  if (c) {
    const skipped = `${nFiles(c.skipped)} (${formatBytes(c.skippedBytes)})`;
    const read = l10n.t`Read ${formatBytes(c.bytes)} of ${nFiles(c.files)} into the VFS cache in ${seconds(c.ms)}`;
    io.out(
      c.files
        ? read +
            (c.skipped === 0
              ? ''
              : c.skipped === 1
                ? l10n.t`; ${skipped} was cached already and skipped`
                : l10n.t`; ${skipped} were cached already and skipped`)
        : c.skipped
          ? c.skipped === 1
            ? l10n.t`Nothing to read: ${skipped} is in the VFS cache already`
            : l10n.t`Nothing to read: ${skipped} are all in the VFS cache already`
          : l10n.t('No files to read'),
    );
  }
  return 0;
}

const nFiles = (n: number) => (n === 1 ? l10n.t('1 file') : l10n.t`${n} files`);

/**
 * What --json shows of the mount: named fields only. The target's RcClient holds the mount's rc
 * user and password, so it never reaches the output (only whether there was one).
 */
function shown(t: WarmTarget) {
  return {
    mountPoint: t.mountPoint,
    remote: t.remote,
    state: t.state,
    pid: t.pid,
    rc: t.rc !== undefined,
    cacheMode: t.cacheMode,
    cacheDir: t.cacheDir,
  };
}

const count = (n: number) => n.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const two = (n: number) => String(n).padStart(2, '0');
/** Local time, to the minute: 2027-01-10 14:00. */
const when = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
};

/** 4 s, 3 min 20 s, 1 h 5 min. */
function left(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** 42% · 120 MB of 300 MB · 45 MB/s · 4 s left */
function contentLine(p: ContentProgress): string {
  const pct = p.bytesTotal ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100;
  const parts = [`${pct}%`, l10n.t`${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`];
  if (p.rate > 0) parts.push(`${formatBytes(p.rate)}/s`);
  if (p.etaMs !== undefined) parts.push(l10n.t`${left(p.etaMs)} left`);
  return parts.join(' · ');
}
