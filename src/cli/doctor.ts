// `rclone-devbox doctor`: is this box ready to bring the current folder up? One line per check,
// "ok" or "FAIL <what>: <problem> — <fix>", in a fixed order, and the exit status is the number of
// problems (0: ready), so a boot script or a container's health check can act on it. "WARN" lines
// (copy mode: outputs that have waited too long for upload, a disk too small for the next version)
// say what to look at without counting as problems: the box can still be brought up. Every check
// is bounded and the independent ones run at once: a dead endpoint costs its own bound, not the
// sum of all of them. Nothing is changed: no mount, no file, no config edit.
import { constants } from 'node:fs';
import { access, stat, statfs } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join, relative } from 'node:path';
import * as l10n from '@vscode/l10n';
import { findApps, portHolder, portOf } from '../core/app';
import { defaultCacheDir } from '../core/cache';
import { RcloneConfig, type Remote } from '../core/config';
import { type ErrorKind, FIXES, isRcloneError, RcloneError } from '../core/errors';
import { streamFolder } from '../core/listing';
import { MountRegistry } from '../core/mounts';
import { checkAllowOther, findFuseHelper, fuseConf, fuseDevice } from '../core/preflight';
import { formatBytes } from '../core/files';
import { linkedCopy, partialOf, sizeOf } from '../core/localCopy';
import { defaultVfsCacheDir } from '../core/prewarm';
import type { MountProfile } from '../core/profile';
import type { Rclone } from '../core/rclone';
import {
  type AppTask,
  DEFAULT_PORT,
  defaultTask,
  inFolder,
  profileForTask,
  readWorkspace,
  type WorkspaceDefinition,
} from '../core/workspace';
import { shellWord, teamRemoteMissing } from '../core/bringup';
import { driftOf, readTeamProfile, type TeamProfile } from '../core/teamProfile';
import type { Options } from './args';
import {
  type CopyLink,
  type CopyProfile,
  copyLinksOf,
  copyProfilesOf,
  pendingFiles,
  shownPath,
  usesText,
} from './copies';
import { type Context, cliFix, cliMessage } from './fixes';
import { plainVersion, sourceOf, sourceText, updateLine } from './installRclone';
import { listsInPages } from './ls';
import type { Io } from './mounts';

/** Bound on finding rclone (`rclone version`, when its answer is not cached). */
const LOCATE_MS = 10_000;
/** Bound on `rclone config file` and on reading the remotes. */
const CONFIG_MS = 5_000;
/** Bound on the one-page listing that tries a profile's credentials (rclone's own bound is 10 s). */
const LIST_MS = 10_000;
/** Bound on a TCP connect to an endpoint. */
const CONNECT_MS = 3_000;
/** Bound on a statfs (a cache folder on a network disk may hang). */
const STATFS_MS = 3_000;
/** What to do when rclone is slow to answer about its own config (it reads no network for that). */
const slowRclone = () =>
  l10n.t('Check that `rclone config file` answers at once: a slow disk, or a config on a network share?');
/** Below this much free space a VFS cache disk is a problem whatever the profile says. */
const MIN_FREE = 1024 ** 3;

/** Left free on the disk of the local copies after a copy (as core/localCopy.ts's copy leaves it). */
const COPY_RESERVE = 64 * 1024 * 1024;
/** Bound on `rclone size` of a version still to be copied. */
const SIZE_MS = 10_000;

interface Line {
  mark: 'ok' | 'FAIL' | 'WARN' | '--';
  text: string;
  /** For a failure: what failed, its problem, and its kind where one is known. */
  what?: string;
  problem?: string;
  kind?: ErrorKind;
}

const ok = (text: string): Line => ({ mark: 'ok', text });
/** Said for information: not a problem (a check that does not apply, or could not run because of one already counted). */
const note = (text: string): Line => ({ mark: '--', text });
const fail = (what: string, problem: string, fix?: string, kind?: ErrorKind): Line => ({
  mark: 'FAIL',
  text: `${what}: ${problem.replace(/[.。]$/, '')}${fix ? ` — ${fix}` : ''}`,
  what,
  problem: problem.replace(/[.。]$/, ''),
  kind,
});
/** Worth looking at, not a problem: the box can be brought up (not counted in the exit status). */
const warn = (what: string, problem: string, fix: string): Line => ({
  ...fail(what, problem, fix),
  mark: 'WARN',
});
/** A failure as an error said it: its message, and its fix the CLI's way. */
function failWith(what: string, e: unknown, ctx: Context): Line {
  if (isRcloneError(e)) return fail(what, cliMessage(e.message), cliFix(e, ctx), e.kind);
  return fail(what, e instanceof Error ? e.message : String(e));
}
/** Four characters of mark, so the checks line up in a plain log. */
const format = (l: Line) => `${l.mark.padEnd(4)} ${l.text}`;

/**
 * `work` with a signal that aborts after `ms` (or on Ctrl-C); its result, or a Timeout naming `what`
 * even when the work itself does not stop at once (a statfs cannot be cancelled).
 */
async function within<T>(
  ms: number,
  what: string,
  parent: AbortSignal,
  work: (signal: AbortSignal) => Promise<T>,
  fix?: string,
): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), ms);
  const signal = AbortSignal.any([parent, deadline.signal]);
  const late = new Promise<never>((_, no) =>
    signal.addEventListener(
      'abort',
      () =>
        no(
          deadline.signal.aborted
            ? new RcloneError('Timeout', l10n.t`${what} did not finish within ${ms / 1000} s.`, { fix })
            : new RcloneError('Cancelled', l10n.t`Cancelled: ${what}.`),
        ),
      { once: true },
    ),
  );
  late.catch(() => undefined); // a deadline passing after the work is done is nobody's problem
  try {
    return await Promise.race([work(signal), late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function doctorCommand(o: Options, locate: () => Promise<Rclone>, io: Io): Promise<number> {
  const env = process.env;
  const ctx = io.context;
  const read = await readWorkspace(process.cwd(), o.config).then(
    (def) => ({ def, error: undefined }),
    (error: unknown) => ({ def: undefined, error }),
  );
  const def = read.def;
  const folder = def?.folder ?? process.cwd();
  // The workspace's rclone.configFile, unless the shell already chose one (RCLONE_CONFIG wins, as `up` does).
  const shellConfig = env.RCLONE_CONFIG;
  if (def?.configFile && !shellConfig) env.RCLONE_CONFIG = def.configFile;
  const rclone = within(
    LOCATE_MS,
    l10n.t('Finding rclone'),
    io.signal,
    () => locate(),
    l10n.t('Check that `rclone version` answers (the rclone on PATH, or the one RCLONE_DEVBOX_RCLONE names).'),
  );
  rclone.catch(() => undefined); // reported by its own check
  const { profiles, lines: taskLines } = profilesOf(def, ctx);
  const stateDir = new MountRegistry(locate).stateDir;
  // Copy mode: profiles that copy here need no FUSE, no VFS cache and no allow-other.
  const copies = await copyProfilesOf(def, env).catch(() => [] as CopyProfile[]);
  const copying = (p: MountProfile) => copies.some((c) => c.profile === p && c.uses === 'copy');
  const mounting = profiles.filter((p) => !copying(p));

  const checks: Promise<Line[]>[] = [
    rclone.then(
      async (r) => [
        ok(l10n.t`rclone ${plainVersion(r)} at ${r.path} (${sourceText(sourceOf(r.path, env))})`),
        // Only when asked: the download site is never asked otherwise.
        ...(o['check-updates'] ? [await updateLine(r, o, io.signal)] : []),
      ],
      (e: unknown) => [failWith('rclone', e, ctx)],
    ),
    fuseChecks(env, !profiles.length || mounting.length > 0),
    allowOtherCheck(mounting, env),
    Promise.resolve(
      read.error ? [failWith(l10n.t`workspace ${folder}`, read.error, ctx)] : workspaceLines(def!, taskLines, o.config),
    ),
    copyChecks(def, copies, rclone, stateDir, io.signal, ctx),
    remoteChecks(rclone, profiles, { shellConfig, def, team: teamOf(def, o.config) }, io.signal, ctx),
    cacheDiskChecks(mounting, env, io.signal, ctx),
    portCheck(def, stateDir, ctx),
  ];
  let problems = 0;
  let warnings = 0;
  // Printed in order, each as soon as it and those before it are known.
  for (const check of checks) {
    const lines = await check.catch((e: unknown) => [failWith('doctor', e, ctx)]);
    for (const line of lines) {
      if (line.mark === 'FAIL') problems++;
      if (line.mark === 'WARN') warnings++;
      io.out(format(line));
    }
  }
  if (problems) io.err(problems === 1 ? l10n.t('1 problem found.') : l10n.t`${problems} problems found.`);
  if (warnings)
    io.err(
      warnings === 1
        ? l10n.t('1 warning (not counted as a problem).')
        : l10n.t`${warnings} warnings (not counted as problems).`,
    );
  return Math.min(problems, 125);
}

// ---- the workspace ----

/** The profiles to check: the folder's, and those its tasks name that are not among them (a bare remote:bucket). */
function profilesOf(def: WorkspaceDefinition | undefined, ctx: Context): { profiles: MountProfile[]; lines: Line[] } {
  if (!def) return { profiles: [], lines: [] };
  const profiles = [...def.profiles];
  const lines: Line[] = [];
  for (const t of def.tasks) {
    const what = l10n.t`task "${String(t.label ?? t.mount)}"`;
    if (typeof t.mount !== 'string' || !t.mount) {
      lines.push(
        fail(
          what,
          l10n.t('it has no "mount"'),
          l10n.t('Set "mount" to a mount profile\'s remote or mount point, or to remote:bucket.'),
        ),
      );
      continue;
    }
    try {
      const p = profileForTask(t.mount, def.profiles, def);
      if (!profiles.some((x) => x.remote === p.remote && x.mountPoint === p.mountPoint)) profiles.push(p);
    } catch (e) {
      lines.push(failWith(what, e, ctx));
    }
  }
  return { profiles, lines };
}

function workspaceLines(def: WorkspaceDefinition, taskLines: Line[], configFile?: string): Line[] {
  const from = def.sources.map((s) => relative(def.folder, s) || s).join(', ');
  const profiles = (n: number) => (n === 1 ? l10n.t('1 profile') : l10n.t`${n} profiles`);
  const tasks = (n: number) => (n === 1 ? l10n.t('1 task') : l10n.t`${n} tasks`);
  if (!def.profiles.length && !def.tasks.length) {
    const where = `${configFile ?? '.vscode/settings.json'} "rclone.mounts"`;
    return [note(l10n.t`no mount profile in ${def.folder} (${where}): only the box is checked`)];
  }
  return [
    ok(l10n.t`workspace ${def.folder}: ${profiles(def.profiles.length)}, ${tasks(def.tasks.length)} (${from})`),
    ...taskLines,
  ];
}

// ---- rclone, FUSE ----

/**
 * The FUSE device and helper. When no profile here needs FUSE (each one copies: mode "copy", or
 * "auto" without FUSE), a missing FUSE is said but is no problem.
 */
async function fuseChecks(env: NodeJS.ProcessEnv, needed: boolean): Promise<Line[]> {
  const lines = await fuseLines(env);
  if (needed) return lines;
  return lines.map((l) =>
    l.mark === 'FAIL' ? note(l10n.t`${l.what!}: ${l.problem!} (not needed: the profiles here use local copies)`) : l,
  );
}

async function fuseLines(env: NodeJS.ProcessEnv): Promise<Line[]> {
  const dev = fuseDevice(env);
  const what = l10n.t`FUSE device ${dev}`;
  const info = await stat(dev).catch(() => undefined);
  const helper = findFuseHelper(env);
  let device: Line;
  if (!info) device = fail(what, l10n.t('it does not exist'), FIXES.FuseMissing, 'FuseMissing');
  else if (!info.isCharacterDevice())
    device = fail(what, l10n.t('it is not a device'), FIXES.FuseMissing, 'FuseMissing');
  else
    device = await access(dev, constants.R_OK | constants.W_OK).then(
      () => ok(l10n.t`${what} (read/write)`),
      () =>
        fail(
          what,
          l10n.t`this user (uid ${String(process.getuid?.())}) may not read and write it`,
          l10n.t`Let the user open it (it is usually mode 666: sudo chmod 666 ${dev}), or run as a user who may.`,
          'FuseMissing',
        ),
    );
  return [device, await helperCheck(helper)];
}

/** A user other than root mounts through fusermount, which can do so only when it is setuid root. */
async function helperCheck(helper: string | undefined): Promise<Line> {
  if (!helper)
    return fail(
      l10n.t('FUSE helper'),
      l10n.t('neither fusermount3 nor fusermount is on PATH'),
      FIXES.FuseMissing,
      'FuseMissing',
    );
  const info = await stat(helper).catch(() => undefined);
  if ((process.getuid?.() ?? 0) === 0 || (info && info.uid === 0 && info.mode & 0o4000))
    return ok(l10n.t`FUSE helper ${helper}`);
  return fail(
    l10n.t`FUSE helper ${helper}`,
    l10n.t('it is not setuid root, so only root can mount with it'),
    l10n.t`Reinstall FUSE (Debian/Ubuntu: sudo apt-get install --reinstall fuse3), or sudo chmod u+s ${helper}.`,
    'FuseMissing',
  );
}

/** Only when a profile mounts with allowOther: a user other than root needs user_allow_other in fuse.conf. */
async function allowOtherCheck(profiles: readonly MountProfile[], env: NodeJS.ProcessEnv): Promise<Line[]> {
  if (!profiles.some((p) => p.allowOther)) return [];
  const conf = fuseConf(env);
  const uid = process.getuid?.() ?? 0;
  // fusermount asks for user_allow_other only of other users: root mounting with allow-other is fine.
  if (uid === 0) return [ok(l10n.t`allow-other: running as root, which needs no user_allow_other in ${conf}`)];
  try {
    await checkAllowOther(uid, conf);
    return [ok(l10n.t`allow-other: ${conf} has user_allow_other`)];
  } catch (e) {
    const problem = isRcloneError(e) ? e.message : String(e);
    const fix = l10n.t`Add a line "user_allow_other" to ${conf} (as root), or set "allowOther": false in the profile.`;
    return [fail('allow-other', problem, fix, 'AllowOtherNotPermitted')];
  }
}

// ---- copy mode ----

/** A duration for a person: "45 s", "12 min", "3 h". */
function ago(ms: number): string {
  if (ms < 60_000) return l10n.t`${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 120 * 60_000) return l10n.t`${Math.round(ms / 60_000)} min`;
  return l10n.t`${Math.round(ms / 3_600_000)} h`;
}

/** Per profile that may copy: the mode it uses here and why, the disk of its local copies, its outputs. */
async function copyChecks(
  def: WorkspaceDefinition | undefined,
  copies: readonly CopyProfile[],
  rclone: Promise<Rclone>,
  stateDir: string,
  signal: AbortSignal,
  ctx: Context,
): Promise<Line[]> {
  if (!def || !copies.length) return [];
  const groups = copies.map(async (c): Promise<Line[]> => {
    const mode = ok(l10n.t`mode of ${c.profile.remote}: ${usesText(c)}`);
    if (c.uses !== 'copy') return [mode];
    const links = copyLinksOf(def, c);
    const [disk, ...outputs] = await Promise.all([
      copyDiskCheck(def, c, links, rclone, signal, ctx),
      ...links.filter((l) => l.output).map((o) => outputsCheck(def.folder, o, stateDir)),
    ]);
    return [mode, disk!, ...outputs.filter((l): l is Line => l !== undefined)];
  });
  return (await Promise.all(groups)).flat();
}

/**
 * The disk of the local copies against the versions the folder links: one still to be copied must
 * fit (what is left of it, as the copy itself checks), else the bring-up fails (a problem); one
 * copied already is the size the next version will likely need (a warning when it would not fit).
 */
async function copyDiskCheck(
  def: WorkspaceDefinition,
  c: CopyProfile,
  links: readonly CopyLink[],
  rclone: Promise<Rclone>,
  signal: AbortSignal,
  ctx: Context,
): Promise<Line> {
  const what = l10n.t`local copies ${c.root}`;
  const versions: Array<{ name: string; local: string; remote?: string }> = links
    .filter((l) => !l.output)
    .map((l) => ({ name: relative(c.root, l.local) || l.local, local: l.local, remote: l.remote }));
  // No task links a version: the one the model link points at, if it is a local copy here.
  if (!versions.length) {
    const linked = await linkedCopy(join(def.folder, def.modelLink), [c.root]);
    if (linked) versions.push({ name: linked.version, local: linked.path });
  }
  try {
    const found = await within(STATFS_MS, l10n.t`Looking at the disk of ${c.root}`, signal, () => freeBytes(c.root));
    if (!found)
      return fail(
        what,
        l10n.t('its disk cannot be looked at'),
        l10n.t('Check that the folder (or its parent) exists.'),
      );
    const free = found.free;
    const fix = l10n.t(
      'Free space on that disk (`rclone-devbox copies --remove NAME` removes an old local version), or set the profile\'s "copyDir" to a folder on a bigger disk.',
    );
    const said: string[] = [];
    let toCopy = 0;
    let biggest: { name: string; bytes: number } | undefined;
    for (const v of versions) {
      const whole = await stat(v.local).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (whole) {
        const bytes = await sizeOf(v.local);
        said.push(l10n.t`${v.name} copied (${formatBytes(bytes)})`);
        if (!biggest || bytes > biggest.bytes) biggest = { name: v.name, bytes };
        continue;
      }
      try {
        const r = await rclone;
        const bytes = await within(SIZE_MS, l10n.t`Sizing ${v.remote!}`, signal, async (s) => {
          const out = await r.run(['size', '--json', '--', v.remote!], {
            signal: s,
            timeoutMs: SIZE_MS,
            target: v.remote,
          });
          return (JSON.parse(out) as { bytes: number }).bytes;
        });
        const had = await sizeOf(partialOf(v.local));
        const left = Math.max(0, bytes - had);
        toCopy += left;
        said.push(
          had
            ? l10n.t`${v.name} to copy (${formatBytes(left)} of ${formatBytes(bytes)} left)`
            : l10n.t`${v.name} to copy (${formatBytes(bytes)})`,
        );
      } catch (e) {
        // Why the bucket cannot be read is the access check's to say.
        const why = isRcloneError(e) ? cliMessage(e.message).replace(/[.。]$/, '') : String(e);
        said.push(l10n.t`${v.name} to copy (its size is not known: ${why})`);
      }
    }
    const details = said.length ? `; ${said.join(', ')}` : '';
    if (toCopy && toCopy + COPY_RESERVE > free)
      return fail(
        what,
        l10n.t`only ${formatBytes(free)} free, and ${formatBytes(toCopy)} is still to be copied${details}`,
        fix,
        'WontFit',
      );
    if (biggest && biggest.bytes + toCopy + COPY_RESERVE > free)
      return warn(
        what,
        l10n.t`only ${formatBytes(free)} free, less than the linked ${biggest.name} (${formatBytes(biggest.bytes)}): another version of its size would not fit`,
        fix,
      );
    return ok(l10n.t`${what}: ${formatBytes(free)} free${details}`);
  } catch (e) {
    return failWith(what, e, ctx);
  }
}

/**
 * Files of an output folder waiting for upload: fine while they are younger than two rounds of
 * uploadEvery (the next round takes them), a warning once one is older (its uploads are failing,
 * or nothing uploads: no `up` runs). Nothing is said of a folder that does not exist (yet).
 */
async function outputsCheck(folder: string, o: CopyLink, stateDir: string): Promise<Line | undefined> {
  const exists = await stat(o.local).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!exists) return undefined;
  const what = l10n.t`outputs ${shownPath(folder, o.link)} → ${o.remote}`;
  const files = await pendingFiles(o, stateDir);
  if (!files.length) return ok(l10n.t`${what}: nothing waits for upload`);
  const limit = 2 * o.everyMs;
  const now = Date.now();
  const old = files.filter((f) => now - f.mtimeMs > limit);
  const n = files.length;
  const waiting = n === 1 ? l10n.t('1 file waits for upload') : l10n.t`${n} files wait for upload`;
  if (!old.length) return ok(l10n.t`${what}: ${waiting}, written in the last ${ago(limit)}`);
  const oldest = Math.max(...old.map((f) => now - f.mtimeMs));
  return warn(
    what,
    l10n.t`${waiting}; the oldest for ${ago(oldest)}, more than twice uploadEvery (${ago(o.everyMs)})`,
    l10n.t(
      'Upload them now: `rclone-devbox upload` in this folder (it says what fails); `rclone-devbox up` uploads them too, at its start and while the app runs.',
    ),
  );
}

// ---- the config, remotes, credentials, endpoints ----

/** The remote's name in "remote:bucket/path" ("remote,opt=v:…" too); undefined for a local path or a connection string. */
function remoteName(path: string): string | undefined {
  const colon = path.indexOf(':');
  const name = colon > 0 ? path.slice(0, colon).split(',')[0] : undefined;
  return name || undefined;
}

/** What a profile's credentials are tried on: its bucket, "remote:bucket" (or the remote's root). */
function bucketOf(path: string): string {
  const colon = path.indexOf(':');
  return `${path.slice(0, colon + 1)}${
    path
      .slice(colon + 1)
      .split('/')
      .find(Boolean) ?? ''
  }`;
}

/** The folder's team profile, when the workspace was read from the folder (not --config); a broken one was reported already. */
async function teamOf(def: WorkspaceDefinition | undefined, configFile?: string): Promise<TeamProfile | undefined> {
  if (!def || configFile) return undefined;
  return readTeamProfile(def.folder).catch(() => undefined);
}

/** How `local` differs from what the team profile says of it, as a problem line; undefined when it does not. */
function driftLine(name: string, local: Remote, team: TeamProfile, folder: string): Line | undefined {
  const described = team.remotes[name];
  if (!described) return undefined;
  const drift = driftOf(described, local);
  if (!drift.length) return undefined;
  const file = relative(folder, team.file) || team.file;
  const none = l10n.t('(none)');
  const differences = drift
    .map((d) => l10n.t`${d.field} is ${d.local ?? none} here, ${d.team ?? none} in the team profile`)
    .join('; ');
  const update = drift
    .filter((d) => d.field !== 'credentials' && d.team !== undefined)
    .flatMap((d) => [d.field, shellWord(d.team!)]);
  const fix = update.length
    ? l10n.t`Apply the team profile: in the editor, "Rclone: Apply Team Profile"; from a shell: \`rclone config update ${shellWord(name)} ${update.join(' ')}\`.`
    : l10n.t`Apply the team profile: in the editor, "Rclone: Apply Team Profile"; from a shell, add the remote again as ${file} describes it (rclone config).`;
  return fail(
    l10n.t`remote ${name}`,
    l10n.t`it differs from the team profile ${file}: ${differences}`,
    fix,
    'ConfigInvalid',
  );
}

async function remoteChecks(
  rclone: Promise<Rclone>,
  profiles: readonly MountProfile[],
  chosen: { shellConfig?: string; def?: WorkspaceDefinition; team: Promise<TeamProfile | undefined> },
  signal: AbortSignal,
  ctx: Context,
): Promise<Line[]> {
  let r: Rclone;
  try {
    r = await rclone;
  } catch {
    return [note(l10n.t('rclone config, remotes and credentials not checked: no usable rclone (above)'))];
  }
  const { shellConfig, def } = chosen;
  const team = await chosen.team;
  const lines: Line[] = [];
  const byDefault = !shellConfig && !def?.configFile;
  const source = shellConfig
    ? 'RCLONE_CONFIG'
    : def?.configFile
      ? l10n.t`"rclone.configFile" of ${def.sources.map((s) => relative(def.folder, s)).join(', ')}`
      : l10n.t("rclone's default");
  if (shellConfig && def?.configFile && def.configFile !== shellConfig)
    lines.push(note(l10n.t`the workspace's "rclone.configFile" ${def.configFile} is not used: RCLONE_CONFIG wins`));
  let config: RcloneConfig;
  let remotes: Remote[];
  try {
    config = await within(
      CONFIG_MS,
      l10n.t('Finding the rclone config file'),
      signal,
      (s) => RcloneConfig.open(r, s),
      slowRclone(),
    );
  } catch (e) {
    return [...lines, failWith(l10n.t('rclone config'), e, ctx)];
  }
  const what = l10n.t`rclone config ${config.path} (${source})`;
  try {
    remotes = await within(CONFIG_MS, l10n.t`Reading ${config.path}`, signal, (s) => config.remotes(s), slowRclone());
  } catch (e) {
    return [...lines, failWith(what, e, ctx)];
  }
  const exists = await stat(config.path).then(
    () => true,
    () => false,
  );
  const n = remotes.length === 1 ? l10n.t('1 remote') : l10n.t`${remotes.length} remotes`;
  if (exists) lines.push(ok(`${what}: ${n}`));
  else if (byDefault)
    lines.push(note(l10n.t`no rclone config file at ${config.path}: ${n} from RCLONE_CONFIG_* variables`));
  else
    lines.push(
      fail(
        what,
        l10n.t('it does not exist'),
        l10n.t('Point RCLONE_CONFIG at your config file, or add a remote with `rclone config`.'),
      ),
    );

  // One group of checks per remote (its endpoint once), then each bucket of it the profiles mount.
  const byRemote = new Map<string, Set<string>>();
  for (const p of profiles) {
    const name = remoteName(p.remote);
    if (!name) continue; // a local path, or a connection string: nothing in the config to check
    byRemote.set(name, (byRemote.get(name) ?? new Set()).add(bucketOf(p.remote)));
  }
  const groups = [...byRemote].map(async ([name, buckets]): Promise<Line[]> => {
    const remote = remotes.find((x) => x.name === name);
    if (!remote) {
      // The team profile names it: its own words and fix (the shell command that adds it).
      const missing = teamRemoteMissing(`${name}:`, team, remotes, config.path);
      if (missing) return [fail(l10n.t`remote ${name}`, missing.message, missing.fix, 'RemoteNotFound')];
      const e = new RcloneError('RemoteNotFound', l10n.t`There is no remote called "${name}" in ${config.path}.`);
      return [failWith(l10n.t`remote ${name}`, e, ctx)];
    }
    const drift = team && driftLine(name, remote, team, def!.folder);
    const kind = [remote.type, remote.provider].filter(Boolean).join(', ');
    const from = remote.source === 'file' ? '' : l10n.t` (from RCLONE_CONFIG_${name.toUpperCase()}_* variables)`;
    const [endpoint, ...tried] = await Promise.all([
      endpointCheck(remote, ctx),
      ...[...buckets].map((b) => accessCheck(r, b, signal, ctx)),
    ]);
    // A dead endpoint is one problem: the listings that failed for that reason are not counted again.
    const down = endpoint.mark === 'FAIL';
    const access = tried.map((l) =>
      down && l.mark === 'FAIL' && (l.kind === 'Unreachable' || l.kind === 'Timeout')
        ? note(l10n.t`${l.what!}: fails too, as its endpoint does not answer (above)`)
        : l,
    );
    return [
      ok(l10n.t`remote ${name} (${kind}) is in the config${from}`),
      ...(drift ? [drift] : []),
      endpoint,
      ...access,
    ];
  });
  for (const g of await Promise.all(groups)) lines.push(...g);
  // The team's other remotes, which no profile mounts here: there, and as the team describes them.
  for (const name of Object.keys(team?.remotes ?? {})) {
    if (byRemote.has(name)) continue;
    const remote = remotes.find((x) => x.name === name);
    const missing = teamRemoteMissing(`${name}:`, team, remotes, config.path);
    if (missing) lines.push(fail(l10n.t`remote ${name}`, missing.message, missing.fix, 'RemoteNotFound'));
    else if (remote)
      lines.push(
        driftLine(name, remote, team!, def!.folder) ?? ok(l10n.t`remote ${name} is as the team profile describes it`),
      );
  }
  return lines;
}

/** Tries the credentials with the first page of one listing of `target`; the kind of failure says what is wrong. */
async function accessCheck(rclone: Rclone, target: string, signal: AbortSignal, ctx: Context): Promise<Line> {
  const what = l10n.t`access to ${target}`;
  const t0 = performance.now();
  try {
    await within(LIST_MS + 2_000, l10n.t`Listing ${target}`, signal, async (s) => {
      // A paged listing (S3: one request of up to 1,000 keys) stops at its first entry: a bucket of
      // any size answers as fast as an empty one.
      const listR = await listsInPages(rclone, target, defaultCacheDir(process.env), s);
      for await (const _entry of streamFolder(rclone, target, { listR, timeoutMs: LIST_MS, signal: s })) break;
    });
    return ok(l10n.t`${what}: listed in ${ms(performance.now() - t0)}`);
  } catch (e) {
    return failWith(what, e, ctx);
  }
}

/** Where a remote's requests go: its endpoint URL, or AWS's regional one; undefined for other backends. */
function endpointOf(r: Remote): { host: string; port: number } | undefined | 'invalid' {
  if (r.endpoint) {
    const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(r.endpoint) ? r.endpoint : `https://${r.endpoint}`;
    try {
      const u = new URL(text);
      return {
        host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443,
      };
    } catch {
      return 'invalid';
    }
  }
  // Only a remote that says it is AWS: an encrypted config shows rclone's type alone, and another
  // provider's remote without an endpoint is broken in a way the listing says better.
  if (r.type === 's3' && r.provider === 'AWS')
    return { host: `s3.${r.region || 'us-east-1'}.amazonaws.com`, port: 443 };
  return undefined;
}

async function endpointCheck(r: Remote, ctx: Context): Promise<Line> {
  const to = endpointOf(r);
  if (to === undefined) return note(l10n.t`endpoint of ${r.name}: not checked (a ${r.type} remote names none)`);
  if (to === 'invalid')
    return failWith(
      l10n.t`endpoint of ${r.name}`,
      new RcloneError('ConfigInvalid', l10n.t`"${r.endpoint!}" is not a URL.`, { fix: FIXES.Unreachable }),
      ctx,
    );
  const where = `${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
  try {
    return ok(l10n.t`endpoint ${where} answers in ${ms(await connectTime(to.host, to.port, CONNECT_MS))}`);
  } catch (e) {
    return failWith(l10n.t`endpoint ${where} (remote ${r.name})`, e, ctx);
  }
}

/** Milliseconds to open (and close) a TCP connection, DNS included; an RcloneError saying why not. */
function connectTime(host: string, port: number, bound: number): Promise<number> {
  return new Promise((done, no) => {
    const t0 = performance.now();
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      no(new RcloneError('Timeout', l10n.t`no answer within ${bound / 1000} s`));
    }, bound);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      done(performance.now() - t0);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why: Record<string, string> = {
        ECONNREFUSED: l10n.t('nothing listens there (connection refused)'),
        ENOTFOUND: l10n.t`${host} does not resolve (DNS)`,
        EAI_AGAIN: l10n.t`${host} does not resolve now (DNS)`,
        EHOSTUNREACH: l10n.t('no route to the host'),
        ENETUNREACH: l10n.t('the network is unreachable'),
        ECONNRESET: l10n.t('the connection was reset'),
      };
      no(new RcloneError('Unreachable', why[e.code ?? ''] ?? l10n.t`it cannot be reached (${e.code ?? e.message})`));
    });
  });
}

const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;

// ---- disk ----

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
  e: 1024 ** 6,
};

/** Bytes of a size as rclone reads --vfs-cache-max-size (20G, 1.5Gi, 500MiB, 10b; a bare number is KiB); undefined: "off" or not a size. */
export function sizeBytes(text: string | undefined): number | undefined {
  const m = /^((?:\d+(?:\.\d*)?|\.\d+))(?:([kmgtpe])(?:i|ib)?|(b))?$/i.exec(text?.trim() ?? '');
  if (!m) return undefined;
  const unit = m[3] ? 'b' : (m[2]?.toLowerCase() ?? 'k');
  return Number(m[1]) * UNITS[unit]!;
}

/** Free bytes for this user on the disk of `dir`, or of its nearest existing parent (it may not exist yet). */
async function freeBytes(dir: string): Promise<{ free: number; at: string } | undefined> {
  for (let d = dir; ; d = dirname(d)) {
    const s = await statfs(d).catch(() => undefined);
    if (s) return { free: s.bavail * s.bsize, at: d };
    if (dirname(d) === d) return undefined;
  }
}

async function cacheDiskChecks(
  profiles: readonly MountProfile[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  ctx: Context,
): Promise<Line[]> {
  // One line per cache folder, held to the largest need of the profiles that share it.
  const dirs = new Map<string, { need: number; maxSize?: string }>();
  for (const p of profiles) {
    const dir = p.cacheDir || defaultVfsCacheDir(env);
    const need = sizeBytes(p.cacheMaxSize) ?? 0;
    const known = dirs.get(dir);
    if (!known || need > known.need) dirs.set(dir, { need, maxSize: need ? p.cacheMaxSize : undefined });
  }
  return Promise.all(
    [...dirs].map(async ([dir, { need, maxSize }]): Promise<Line> => {
      const what = l10n.t`VFS cache ${dir}`;
      try {
        const found = await within(
          STATFS_MS,
          l10n.t`Looking at the disk of ${dir}`,
          signal,
          () => freeBytes(dir),
          l10n.t(
            'The disk does not answer (a network disk?): check it, or set the profile\'s "cacheDir" to a local disk.',
          ),
        );
        if (!found)
          return fail(
            what,
            l10n.t('its disk cannot be looked at'),
            l10n.t('Check that the folder (or its parent) exists.'),
          );
        const { free } = found;
        const limit = maxSize ? ` (cacheMaxSize ${maxSize})` : '';
        if (free >= need && free >= MIN_FREE) return ok(l10n.t`${what}: ${formatBytes(free)} free${limit}`);
        const fix = maxSize
          ? l10n.t(
              'Free space on that disk, or set the profile\'s "cacheDir" to a folder on a bigger disk (or lower its "cacheMaxSize").',
            )
          : l10n.t('Free space on that disk, or set the profile\'s "cacheDir" to a folder on a bigger disk.');
        const below =
          free < need
            ? l10n.t`only ${formatBytes(free)} free, less than its cacheMaxSize ${maxSize!} (${formatBytes(need)})`
            : l10n.t`only ${formatBytes(free)} free, less than ${formatBytes(MIN_FREE)}`;
        return fail(what, below, fix, 'CacheFull');
      } catch (e) {
        return failWith(what, e, ctx);
      }
    }),
  );
}

// ---- the app's port ----

/** The folder's app: its first rclone-devbox task's, or IndexTTS2's default one when the folder has a webui.py. */
async function appTask(def: WorkspaceDefinition | undefined): Promise<AppTask | undefined> {
  if (!def) return undefined;
  if (def.tasks.length) return def.tasks[0];
  const first = def.profiles[0];
  return first ? defaultTask(def.folder, first, def.modelLink) : undefined;
}

async function portCheck(def: WorkspaceDefinition | undefined, stateDir: string, ctx: Context): Promise<Line[]> {
  const task = await appTask(def);
  if (!def || !task) return [];
  if (!Array.isArray(task.command) && !task.readyUrl)
    return [
      note(
        def.tasks.length
          ? l10n.t`the task "${String(task.label ?? task.mount)}" starts no app: no port to check`
          : l10n.t('no app in this folder (no rclone-devbox task, no webui.py): no port to check'),
      ),
    ];
  const port = portOf(task.readyUrl, Array.isArray(task.command) ? task.command : []) ?? DEFAULT_PORT;
  try {
    const holder = await portHolder(port);
    if (!holder) return [ok(l10n.t`port ${port} is free for the app`)];
    const apps = await findApps(stateDir);
    const app =
      apps.find((a) => a.port === port && a.listening) ??
      (holder.pid === undefined ? undefined : apps.find((a) => a.pid === holder.pid));
    const cwd = inFolder(def.folder, task.cwd ?? '.');
    if (app?.cwd === cwd)
      return [ok(l10n.t`port ${port} is used by the app started by rclone-devbox (pid ${app.pid})`)];
    if (app)
      return [
        fail(
          l10n.t`port ${port}`,
          l10n.t`it is used by the app rclone-devbox started in ${app.cwd} (pid ${app.pid})`,
          l10n.t`Stop that app (kill ${app.pid}), or change the port in this folder's task (its "readyUrl" and --port).`,
          'PortInUse',
        ),
      ];
    const who =
      holder.pid === undefined
        ? l10n.t('a process of another user')
        : `${holder.name ?? l10n.t('a process')} (pid ${holder.pid})`;
    return [fail(l10n.t`port ${port}`, l10n.t`it is in use by ${who}`, FIXES.PortInUse, 'PortInUse')];
  } catch (e) {
    return [failWith(l10n.t`port ${port}`, e, ctx)];
  }
}
