// `rclone-devbox up`: the editor's bring-up task without an editor, for boot scripts, systemd and
// containers. Reads the same definition (.vscode/tasks.json and the profiles of
// .vscode/settings.json in the current folder, or --config), runs the same steps (core/bringup.ts),
// then stays in the foreground with the app, as a container's main process does: its output is
// passed through, Ctrl-C or SIGTERM ends the app's whole process tree and leaves the mount up.
// Meanwhile, a mount whose session token expires (the time given in Edit Remote or `setup`) is
// stopped 2 minutes before, uploads done first, as an editor window does; the app is left running.
import { setTimeout as delay } from 'node:timers/promises';
import * as l10n from '@vscode/l10n';
import { stopApp } from '../core/app';
import { bringUp, planOf, remoteNameOf, SAY, teamRemoteMissing } from '../core/bringup';
import { RcloneConfig } from '../core/config';
import { ExpiryStore, MAX_TIMER_MS, STOP_BEFORE_MS, stopBeforeExpiry } from '../core/expiry';
import { OutputUploads } from '../core/localCopy';
import { type Mount, MountRegistry } from '../core/mounts';
import type { Rclone } from '../core/rclone';
import { readTeamProfile } from '../core/teamProfile';
import { chooseTask, readWorkspace } from '../core/workspace';
import type { Options, Values } from './args';
import type { Io } from './mounts';

export async function upCommand(o: Options, v: Values, locate: () => Promise<Rclone>, io: Io): Promise<number> {
  const def = await readWorkspace(process.cwd(), o.config);
  // The workspace's rclone.configFile, unless the shell already chose one (RCLONE_CONFIG wins, as in rclone).
  if (def.configFile && !process.env.RCLONE_CONFIG) process.env.RCLONE_CONFIG = def.configFile;
  const task = await chooseTask(def, { task: o.task, profile: o.profile });
  const plan = planOf(task, def.folder, def.profiles, { mountRoot: def.mountRoot });
  if (plan.app && v.timeoutMs) plan.app.readyTimeoutMs = v.timeoutMs;
  io.context.dir = plan.profile.mountPoint;
  // A remote the team profile names, missing from rclone's config (a fresh box): said before
  // anything is mounted, with the command that adds it.
  const team = o.config ? undefined : await readTeamProfile(def.folder);
  const name = remoteNameOf(plan.profile.remote);
  if (team && name && team.remotes[name]) {
    const config = await RcloneConfig.open(await locate(), io.signal);
    const missing = teamRemoteMissing(plan.profile.remote, team, await config.remotes(io.signal), config.path);
    if (missing) {
      // Said as it is: its fix names the editor's command and the shell's, which the CLI's
      // general advice for RemoteNotFound (cli/fixes.ts) would replace.
      io.err(missing.message);
      io.err(missing.fix);
      return 1;
    }
  }
  const registry = new MountRegistry(locate, { log: io.log });
  // Progress is one line rewritten on a terminal; it is cleared before each step's own line.
  let statusShown = false;
  const line = (text: string) => {
    if (statusShown) process.stderr.write('\r\x1b[K');
    statusShown = false;
    io.out(text);
  };
  const follow = new AbortController();
  try {
    const up = await bringUp(
      plan,
      {
        line,
        progress: io.status && ((step, text) => (io.status!(`${step}: ${text}`), (statusShown = true))),
        output: (text) => process.stdout.write(text),
      },
      { registry, signal: io.signal, noApp: o['no-app'], follow: follow.signal },
    );
    if (!up.app) return 0;
    const { app } = up;
    // Copy mode: what the app writes to its output folders goes up now and then, and at its end.
    const uploads = up.copies?.outputs.length
      ? new OutputUploads(await locate(), up.copies.outputs, registry.stateDir)
      : undefined;
    const failed = (e: unknown) =>
      io.log.warn(l10n.t`uploading outputs failed; tried again later: ${(e as Error).message}`);
    uploads?.every(plan.uploadEveryMs, failed);
    void uploads?.flush().catch(failed); // what an earlier run left pending
    let expired = false; // the mount was stopped before its credentials expired
    if (up.mount) void stopAtExpiry(registry, up.mount, locate, line, follow.signal).then((s) => (expired = s));
    // In the foreground until the app ends or we are told to stop (cli.ts turns SIGINT/SIGTERM into the signal).
    const stopped = new Promise<'signal'>((done) =>
      io.signal.addEventListener('abort', () => done('signal'), { once: true }),
    );
    const ended = await Promise.race([app.exited, stopped]);
    follow.abort();
    await app.following; // the app's last lines, before ours
    const kept = expired
      ? l10n.t`the mount was stopped before its credentials expired`
      : up.mount
        ? l10n.t`the mount on ${up.mount.mountPoint} stays`
        : l10n.t`the local copies stay`;
    if (ended === 'signal') {
      if (app.reused) {
        line(`${SAY} ${l10n.t`left the app running (pid ${app.record.pid}): this run did not start it`}`);
      } else {
        await stopApp(app.record, registry.stateDir);
        line(
          `${SAY} ${up.mount && !expired ? l10n.t`app stopped; the mount on ${up.mount.mountPoint} stays (rclone-devbox unmount ${up.mount.mountPoint})` : l10n.t`app stopped; ${kept}`}`,
        );
      }
      if (uploads && !(await lastUploads(uploads, line))) return 1;
      return 0; // cli.ts exits with 130 / 143, as a signalled process should
    }
    line(
      `${SAY} ${ended === null ? l10n.t`the app ended; ${kept}` : l10n.t`the app ended with exit code ${ended}; ${kept}`}`,
    );
    if (uploads && !(await lastUploads(uploads, line))) return 1;
    return ended ?? 1;
  } finally {
    follow.abort();
  }
}

/**
 * Stops `mount` 2 minutes before its remote's session token expires, if one is known: uploads
 * done first (until 10 s before), what is left stays in the VFS cache for the next mount. Says
 * when it did, and what to do; the app is left running. Ends with `signal` (the app ended).
 */
async function stopAtExpiry(
  registry: MountRegistry,
  mount: Mount,
  locate: () => Promise<Rclone>,
  line: (text: string) => void,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    const store = ExpiryStore.in(registry.stateDir);
    if (await store.empty()) return false; // the common case: no rclone run to find the config file
    const remote = mount.remote.slice(0, mount.remote.indexOf(':'));
    const expires = await store.get((await RcloneConfig.open(await locate(), signal)).path, remote);
    if (!expires) return false;
    const wait = expires.getTime() - STOP_BEFORE_MS - Date.now();
    if (wait > MAX_TIMER_MS) return false; // about 24 days: not reached by a running `up`
    await delay(Math.max(wait, 0), undefined, { signal });
    const at = mount.mountPoint;
    const { left } = await stopBeforeExpiry(registry, at, expires, { signal });
    const when = expires.toLocaleTimeString();
    line(
      `${SAY} ${
        left
          ? l10n.t`the session credentials of ${remote} expire at ${when}: ${at} is unmounted, ${left} files not uploaded wait in its cache for the next mount`
          : l10n.t`the session credentials of ${remote} expire at ${when}: ${at} is unmounted, its uploads done`
      }`,
    );
    line(
      `${SAY} ${l10n.t`the app keeps running without it; renew the credentials (the editor's Edit Remote, or rclone config update ${remote} …), then run rclone-devbox up again`}`,
    );
    return true;
  } catch (e) {
    if (!signal.aborted)
      line(`${SAY} ${l10n.t`could not stop the mount before its credentials expire: ${(e as Error).message}`}`);
    return false;
  }
}

/**
 * The app has ended: what it wrote to its output folders goes up (bounded: 10 minutes). False, with
 * the number left, when some could not: they are never dropped silently (the next `up` uploads them).
 */
async function lastUploads(uploads: OutputUploads, line: (text: string) => void): Promise<boolean> {
  uploads.dispose();
  try {
    const n = await uploads.flush({ timeoutMs: 10 * 60_000 });
    if (n) line(`${SAY} ${n === 1 ? l10n.t('uploaded 1 output file') : l10n.t`uploaded ${n} output files`}`);
    return true;
  } catch (e) {
    const left = await uploads.pending().catch(() => undefined);
    line(
      `${SAY} ${l10n.t`${left ?? '?'} output files are not uploaded yet (${(e as Error).message}); they stay in ${uploads.outputs.map((o) => o.local).join(', ')} and go up with the next rclone-devbox up`}`,
    );
    return false;
  }
}
