// Mount points as the kernel names them. `/mnt/x/`, `/mnt//x`, `/mnt/./x` and `/data/mnt/x` reached
// through a symlinked `/mnt` are one mount point, and /proc/self/mountinfo only ever shows the
// last form: paths are made canonical once, where they enter core, and compared only so.
import { lstat, mkdir, realpath, rmdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { RcloneError } from './errors';
import { readRcloneMounts } from './mountinfo';

/**
 * Absolute, normalised, with every existing ancestor's symlinks resolved. The mount point itself is
 * not touched when it is a mount (statting a hung FUSE mount would block), and is resolved only when
 * it is itself a symlink; missing trailing parts are kept as given.
 */
export async function canonicalMountPoint(path: string, mountinfo?: string): Promise<string> {
  const abs = resolve(path);
  if (abs === '/') return abs;
  const candidate = join(await realAncestor(dirname(abs)), basename(abs));
  if ((await readRcloneMounts(mountinfo)).some((e) => e.mountPoint === candidate)) return candidate;
  const isLink = await lstat(candidate).then(
    (s) => s.isSymbolicLink(),
    () => false,
  );
  return isLink ? realpath(candidate).catch(() => candidate) : candidate;
}

async function realAncestor(dir: string): Promise<string> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      return join(await realpath(d), ...missing);
    } catch {
      if (d === '/') return dir;
      missing.unshift(basename(d));
    }
  }
}

/**
 * Creates the mount point (and missing parents); returns the first folder created, so a failed
 * mount can remove all it made (see removeCreated). A folder we may not create gets a fix naming it.
 */
export async function createMountPoint(dir: string): Promise<string | undefined> {
  try {
    return await mkdir(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw e;
    const parent = await nearestExisting(dirname(dir));
    throw new RcloneError(
      'PermissionDenied',
      l10n.t`Cannot create the mount point ${dir}: you may not write in ${parent}.`,
      {
        fix: l10n.t(
          'Create it once as root and give it to yourself (sudo mkdir -p {0} && sudo chown "$(id -u):$(id -g)" {0}), or choose a folder you own, e.g. ~/mnt/{1}.',
          dir,
          basename(dir),
        ),
        detail: (e as Error).message,
      },
    );
  }
}

async function nearestExisting(dir: string): Promise<string> {
  for (let d = dir; ; d = dirname(d)) {
    if (
      d === '/' ||
      (await lstat(d).then(
        () => true,
        () => false,
      ))
    )
      return d;
  }
}

/** Removes `dir` and its parents up to `firstCreated` (what createMountPoint made), each only if empty. */
export async function removeCreated(dir: string, firstCreated: string | undefined): Promise<void> {
  if (!firstCreated || relative(firstCreated, dir).startsWith('..')) return;
  for (let d = dir; ; d = dirname(d)) {
    if (
      !(await rmdir(d).then(
        () => true,
        () => false,
      ))
    )
      return;
    if (d === firstCreated) return;
  }
}

/**
 * The mount of `mounts` that holds `path` (its mount point is `path` or a folder above it, at a
 * "/" boundary); the innermost one when mounts nest. Paths compared as written, after resolve():
 * nothing inside a possibly stuck mount is touched.
 */
export function holderOf<M extends { mountPoint: string }>(path: string, mounts: readonly M[]): M | undefined {
  const abs = resolve(path);
  const holds = (m: M) => {
    const mp = resolve(m.mountPoint);
    return mp === '/' || abs === mp || abs.startsWith(`${mp}/`);
  };
  return mounts.filter(holds).sort((a, b) => resolve(b.mountPoint).length - resolve(a.mountPoint).length)[0];
}
