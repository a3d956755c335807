// Checks made before starting a mount, so the common failures get a precise message and a fix
// instead of a FUSE error from deep inside rclone (which rclone 1.60 does not even give for a
// non-empty mount point: it silently mounts over the files).
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as l10n from '@vscode/l10n';
import { isRcloneError, RcloneError } from './errors';
import { onPath } from './processes';

type Env = Readonly<Record<string, string | undefined>>;

// Where the checks below look for the FUSE device and fuse.conf. The variables exist to point the
// checks elsewhere, never to change what rclone and fusermount use: a test shows a box without
// /dev/fuse or without user_allow_other without touching those machine-wide files, and a container
// image build (no /dev/fuse until the container runs) can check the rest.
export const fuseDevice = (env: Env): string => env.RCLONE_DEVBOX_FUSE_DEVICE || '/dev/fuse';
export const fuseConf = (env: Env): string => env.RCLONE_DEVBOX_FUSE_CONF || '/etc/fuse.conf';

/** fusermount3, else fusermount, on PATH (undefined: neither); nothing is spawned. */
export const findFuseHelper = (env: Env): string | undefined => onPath('fusermount3', env) ?? onPath('fusermount', env);

/** The FUSE mount helper to use (fusermount3, else fusermount), found on PATH without spawning anything. */
export async function findFusermount(env: Env, devFuse = fuseDevice(env)): Promise<string> {
  if (!existsSync(devFuse))
    throw new RcloneError('FuseMissing', l10n.t`FUSE is not available: ${devFuse} does not exist.`);
  const helper = findFuseHelper(env);
  if (helper) return helper;
  throw new RcloneError('FuseMissing', l10n.t('FUSE is not installed: neither fusermount3 nor fusermount is on PATH.'));
}

/** Why FUSE cannot be used here (the FuseMissing error findFusermount gives), or undefined when it can. */
export function whyNoFuse(env: Env): Promise<RcloneError | undefined> {
  return findFusermount(env).then(
    () => undefined,
    (e: unknown) => {
      if (isRcloneError(e, 'FuseMissing')) return e;
      throw e;
    },
  );
}

/** `--allow-other` by a user other than root needs `user_allow_other` in fuse.conf (fusermount lets root always). */
export async function checkAllowOther(uid: number, conf = fuseConf(process.env)): Promise<void> {
  if (uid === 0) return;
  const text = await readFile(conf, 'utf8').catch(() => '');
  if (/^\s*user_allow_other\s*$/m.test(text)) return;
  throw new RcloneError(
    'AllowOtherNotPermitted',
    l10n.t`Mounting with allow-other needs "user_allow_other" in ${conf}.`,
  );
}

/** A mount point must be an empty directory (or missing: the mount creates it), unless the user opts in. */
export async function checkMountPoint(dir: string, allowNonEmpty = false): Promise<void> {
  const info = await stat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    if (e.code === 'ENOTCONN') return null; // a dead FUSE mount: repairable, reported by the mount registry
    if (e.code === 'ENOTDIR') {
      throw new RcloneError(
        'ConfigInvalid',
        l10n.t`The mount point ${dir} is not a folder path: a part of it is a file.`,
        {
          fix: l10n.t('Choose a mount point whose parent folders are folders, e.g. /mnt/<bucket>.'),
        },
      );
    }
    throw new RcloneError('PermissionDenied', l10n.t`Cannot inspect the mount point ${dir}.`, {
      fix: l10n.t('Check the permissions of its parent folder.'),
      detail: e.message,
    });
  });
  if (!info) return;
  if (!info.isDirectory()) {
    throw new RcloneError('MountPointNotEmpty', l10n.t`The mount point ${dir} is a file, not a folder.`, {
      fix: l10n.t('Choose a folder as mount point.'),
    });
  }
  if (allowNonEmpty) return;
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new RcloneError(
      'MountPointNotEmpty',
      entries.length === 1
        ? l10n.t('The mount point {0} is not empty (1 entry); mounting would hide them.', dir)
        : l10n.t('The mount point {0} is not empty ({1} entries); mounting would hide them.', dir, entries.length),
    );
  }
}
