// Bringing a box up, the seed's boot script done right: mount (or reuse the live mount, or repair
// a dead one) and wait until it answers, warm what the task names, point its links, then start the
// app and wait until it answers. One sequence for the editor's task and `rclone-devbox up`; each
// says what it does in lines both print (the task's problem matcher waits for the last one).
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import * as l10n from '@vscode/l10n';
import {
  type AppRecord,
  type AppSpec,
  checkPortFree,
  findApps,
  OutputTail,
  portOf,
  resolveCommand,
  startApp,
  stopApp,
  waitAppReady,
} from './app';
import { awsConfigFile, profileFor } from './awsConfig';
import type { Remote } from './config';
import { isRcloneError, RcloneError } from './errors';
import { ensureTargetOnMount, inspectLink, relink } from './link';
import { withLock } from './lock';
import type { Mount, MountRegistry } from './mounts';
import { formatBytes } from './files';
import { copyPlaceOf, copyRootOf, copyVersion } from './localCopy';
import { whyNoFuse } from './preflight';
import { type ContentProgress, type MetadataProgress, prewarm, targetOf } from './prewarm';
import { type CacheMode, durationMs, type MountProfile } from './profile';
import { sameProcess } from './processes';
import type { TeamProfile, TeamRemote } from './teamProfile';
import { type AppTask, inFolder, profileForTask } from './workspace';

/**
 * What the lines the task prints start with; the problem matcher (package.json) keys on them, so
 * these prefixes (and " (see <file>)" on a failed line) stay English in every language: only what
 * follows them is translated.
 */
export const SAY = 'rclone-devbox:';
/** The first line of a bring-up (the problem matcher's beginsPattern). */
export const BEGINS = `${SAY} bringing up`;
/** Last lines: ready (the app answers, or storage is ready when there is no app), or failed (endsPattern). */
export const READY = `${SAY} ready`;
export const FAILED = `${SAY} failed`;

/** A task resolved against its folder and profiles: every path absolute, every value checked. */
export interface BringUpPlan {
  folder: string;
  label: string;
  profile: MountProfile;
  /** Symlinks to point (absolute), at folders on the mount. */
  links: Array<{ link: string; target: string }>;
  /** Folders on the mount to warm (absolute). */
  warm: string[];
  content: boolean;
  /** The links (absolute) whose folders the app writes: uploaded in copy mode, never copied down. */
  outputs: string[];
  /** Copy mode: how often outputs are uploaded while the app runs. */
  uploadEveryMs: number;
  app?: AppSpec;
}

/** How often copy mode uploads new outputs unless the task says. */
const UPLOAD_EVERY_MS = 5 * 60_000;

const invalid = (label: string, message: string, fix: string) =>
  new RcloneError('ConfigInvalid', l10n.t`Task "${label}": ${message}`, { fix });

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Checks a task definition and resolves it; every mistake is named before anything runs. */
export function planOf(
  task: AppTask,
  folder: string,
  profiles: readonly MountProfile[],
  defaults: { mountRoot: string; cacheMode?: CacheMode; python?: string },
): BringUpPlan {
  const label = task.label ?? 'rclone-devbox';
  if (typeof task.mount !== 'string' || !task.mount)
    throw invalid(
      label,
      l10n.t('it has no "mount".'),
      l10n.t('Set "mount" to a mount profile\'s remote or mount point, or to remote:bucket.'),
    );
  const profile = profileForTask(task.mount, profiles, defaults);
  const mp = profile.mountPoint;
  const onMount = (p: string) => (isAbsolute(p) ? p : join(mp, p));
  const link = task.link ?? {};
  if (typeof link !== 'object' || Array.isArray(link) || !Object.values(link).every((v) => typeof v === 'string'))
    throw invalid(
      label,
      l10n.t('"link" is not an object of strings.'),
      l10n.t('Write it as {"cache_hub": "cache_hub_v23"}.'),
    );
  const links = Object.entries(link).map(([l, t]) => ({ link: inFolder(folder, l), target: onMount(t) }));
  for (const l of links) {
    const rel = relative(mp, l.target);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw invalid(
        label,
        l10n.t`the link target ${l.target} is not on the mount ${mp}.`,
        l10n.t('Give a folder below the mount point, e.g. "cache_hub_v23".'),
      );
  }
  if (task.prewarm !== undefined && !isStrings(task.prewarm))
    throw invalid(label, l10n.t('"prewarm" is not a list of folders.'), l10n.t('Write it as ["cache_hub"].'));
  // A name of `link` means the folder it links to (what the app reads); anything else is on the mount.
  const warm = (task.prewarm ?? []).map((p) => links.find((l) => l.link === inFolder(folder, p))?.target ?? onMount(p));
  if (task.outputs !== undefined && !isStrings(task.outputs))
    throw invalid(label, l10n.t('"outputs" is not a list of link names.'), l10n.t('Write it as ["outputs"].'));
  const outputs = (task.outputs ?? Object.keys(link).filter((l) => l === 'outputs')).map((o) => inFolder(folder, o));
  for (const o of outputs)
    if (!links.some((l) => l.link === o))
      throw invalid(
        label,
        l10n.t`"outputs" names ${shown(folder, o)}, which is not in "link".`,
        l10n.t('Name links of "link", e.g. "outputs" for {"outputs": "outputs/${hostname}"}.'),
      );
  const uploadEveryMs = task.uploadEvery === undefined ? UPLOAD_EVERY_MS : durationMs(task.uploadEvery);
  if (!uploadEveryMs)
    throw invalid(
      label,
      l10n.t`"uploadEvery" ${String(task.uploadEvery)} is not a duration.`,
      l10n.t('Write it as "5m" or "30s".'),
    );
  let app: AppSpec | undefined;
  if (task.command !== undefined) {
    if (!isStrings(task.command) || !task.command.length)
      throw invalid(
        label,
        l10n.t('"command" is not a list of arguments.'),
        l10n.t('Write it as ["python", "webui.py", "--port", "7860"].'),
      );
    if (task.readyUrl !== undefined && !/^https?:\/\/[^/]+/.test(task.readyUrl))
      throw invalid(
        label,
        l10n.t`"readyUrl" ${task.readyUrl} is not an http(s) URL.`,
        l10n.t('Write it as http://127.0.0.1:7860/.'),
      );
    if (task.readyPattern !== undefined) {
      try {
        new RegExp(task.readyPattern);
      } catch (e) {
        throw invalid(
          label,
          l10n.t`"readyPattern" is not a regular expression: ${(e as Error).message}.`,
          l10n.t('Fix the pattern.'),
        );
      }
    }
    const readyTimeoutMs = task.readyTimeout === undefined ? undefined : durationMs(task.readyTimeout);
    if (task.readyTimeout !== undefined && !readyTimeoutMs)
      throw invalid(
        label,
        l10n.t`"readyTimeout" ${task.readyTimeout} is not a duration.`,
        l10n.t('Write it as "5m" or "90s".'),
      );
    app = {
      command: task.command,
      cwd: inFolder(folder, task.cwd ?? '.'),
      env: task.env,
      python: defaults.python,
      readyUrl: task.readyUrl,
      readyPattern: task.readyPattern,
      readyTimeoutMs,
      label,
    };
  }
  return { folder, label, profile, links, warm, content: task.prewarmContent === true, outputs, uploadEveryMs, app };
}

export type Step = 'mount' | 'copy' | 'warm' | 'link' | 'app';

export interface BringUpEvents {
  /** A line for the terminal or the log (no newline). */
  line(text: string): void;
  /** How far a step is, for a status bar or a rewritten terminal line ("mounting…", "40%"). */
  progress?(step: Step, text: string): void;
  /** The app's own output, as it comes (raw text: ANSI colours and newlines as the app wrote them). */
  output?(text: string): void;
}

export interface BringUpOptions {
  registry: MountRegistry;
  signal?: AbortSignal;
  /** Stop once storage is ready: mounted, warm and linked (systemd's ExecStart). */
  noApp?: boolean;
  /** Bound on the mount becoming ready (default 30 s). */
  mountTimeoutMs?: number;
  /** How long the app's output is followed (until the caller stops watching). */
  follow?: AbortSignal;
}

export interface BroughtUp {
  /** The mount, in mount mode. */
  mount?: Mount;
  /** Copy mode: where the local copies are, and the output folders to upload (local → remote). */
  copies?: { root: string; outputs: Array<{ local: string; remote: string }> };
  app?: {
    record: AppRecord;
    /** The app was already running (found by pid and port), not started again. */
    reused: boolean;
    url?: string;
    /** Resolves when the app's process has ended (with its code when we started it). */
    exited: Promise<number | null>;
    /** Following the app's output (events.output) until opts.follow aborts; resolves after the last read. */
    following: Promise<void>;
  };
  ms: number;
}

const secs = (ms: number) => l10n.t`${(ms / 1000).toFixed(1)} s`;

/**
 * Runs the plan's steps in order and says each; throws the step's classified error (the caller
 * prints it). The app is left running when this returns: the caller decides when to stop it.
 */
export async function bringUp(plan: BringUpPlan, events: BringUpEvents, opts: BringUpOptions): Promise<BroughtUp> {
  const t0 = performance.now();
  const { registry, signal } = opts;
  const say = events.line;
  say(`${BEGINS} ${l10n.t`"${plan.label}" in ${plan.folder}`}`);
  // What would stop the app is found before anything is mounted: a taken port, no interpreter, no script.
  if (plan.app && !opts.noApp) await appPreflight(plan.app, registry.stateDir);
  const copyRoot = await copyRootFor(plan, events);
  let mount: Mount | undefined;
  let copies: BroughtUp['copies'];
  if (copyRoot) copies = await copyStep(plan, copyRoot, events, opts);
  else {
    mount = await mountStep(plan.profile, events, opts);
    if (plan.warm.length) await warmStep(plan, mount, events, opts);
  }
  for (const l of plan.links) {
    if (copies) {
      // The local copy of the version (whole, or it would not be under its name), or the outputs folder.
      const target = copyPlaceOf(plan.profile, copies.root, l.target).local;
      const done = await relink(l.link, target, { stateDir: registry.stateDir });
      say(
        done.changed
          ? l10n.t`link    ${shown(plan.folder, l.link)} → ${target}`
          : l10n.t`link    ${shown(plan.folder, l.link)} → ${target} (already)`,
      );
      continue;
    }
    // A target that does not exist yet (`outputs` → `outputs/${hostname}` on a fresh box) is
    // created through the mount; one that exists and is not a folder is refused, as everywhere.
    let created = false;
    const checkTarget = async (t: string) => {
      created = (await ensureTargetOnMount(t, await registry.refresh(), { create: true })).created;
    };
    const now = await inspectLink(l.link);
    if (now.kind === 'symlink' && now.target === l.target) {
      // The link is there; its folder may not be (an empty folder lives only in the mount that made it).
      await checkTarget(l.target);
      say(
        created
          ? l10n.t`link    ${shown(plan.folder, l.link)} → ${l.target} (already; the folder was created on the mount)`
          : l10n.t`link    ${shown(plan.folder, l.link)} → ${l.target} (already)`,
      );
      continue;
    }
    await relink(l.link, l.target, { stateDir: registry.stateDir, checkTarget });
    say(
      created
        ? l10n.t`link    ${shown(plan.folder, l.link)} → ${l.target} (the folder was created on the mount)`
        : l10n.t`link    ${shown(plan.folder, l.link)} → ${l.target}`,
    );
  }
  if (!plan.app || opts.noApp) {
    say(`${READY}: ${l10n.t`storage is up (${secs(performance.now() - t0)})`}`);
    return { mount, copies, ms: performance.now() - t0 };
  }
  signal?.throwIfAborted();
  const app = await appStep(plan.app, registry.stateDir, events, opts);
  say(`${READY} ${l10n.t`at ${app.url ?? `pid ${app.record.pid}`} (${secs(performance.now() - t0)})`}`);
  return { mount, copies, app, ms: performance.now() - t0 };
}

/** A path as the user wrote it: relative to the folder when inside it. */
const shown = (folder: string, p: string) => {
  const rel = relative(folder, p);
  return rel.startsWith('..') ? p : `./${rel}`;
};

/**
 * Where copy mode keeps this plan's local copies, or undefined to mount: the profile's mode says
 * (`auto`: copies only when FUSE is not available here, and the line says why).
 */
async function copyRootFor(plan: BringUpPlan, events: BringUpEvents): Promise<string | undefined> {
  const mode = plan.profile.mode ?? 'mount';
  if (mode === 'mount') return undefined;
  const root = copyRootOf(plan.profile, plan.folder);
  if (mode === 'auto') {
    const why = await whyNoFuse(process.env);
    if (why) events.line(l10n.t`storage local copies in ${root}: ${why.message} (mode "auto")`);
    return why && root;
  }
  events.line(l10n.t`storage local copies in ${root} (mode "copy")`);
  return root;
}

/** Copy mode: each linked version copied whole to the local root (or found there); output folders made. */
async function copyStep(
  plan: BringUpPlan,
  root: string,
  events: BringUpEvents,
  opts: BringUpOptions,
): Promise<NonNullable<BroughtUp['copies']>> {
  const rclone = await opts.registry.rclone();
  await ignoredByGit(plan.folder, root);
  const outputs: Array<{ local: string; remote: string }> = [];
  for (const l of plan.links) {
    const { local, remote: source } = copyPlaceOf(plan.profile, root, l.target);
    if (plan.outputs.includes(l.link)) {
      await mkdir(local, { recursive: true });
      outputs.push({ local, remote: source });
      events.line(l10n.t`copy    ${shown(plan.folder, l.link)}: written to ${local}, uploaded to ${source}`);
      continue;
    }
    const t = performance.now();
    events.progress?.('copy', l10n.t('copying…'));
    const r = await copyVersion(rclone, source, local, {
      stateDir: opts.registry.stateDir,
      signal: opts.signal,
      onProgress: (p) => events.progress?.('copy', `${Math.floor((100 * p.bytes) / Math.max(1, p.totalBytes))}%`),
    });
    events.line(
      r.copied
        ? l10n.t`copy    ${source} → ${local} (${formatBytes(r.bytes)} in ${secs(performance.now() - t)})`
        : l10n.t`copy    ${local} (already here, ${formatBytes(r.bytes)})`,
    );
  }
  return { root, outputs };
}

/**
 * The plan's output folders that are local copy-mode folders now (their link points into the copy
 * root: the last bring-up copied), each with where it uploads to. Empty on a mount.
 */
export async function copyOutputsOf(plan: BringUpPlan): Promise<Array<{ local: string; remote: string }>> {
  const mode = plan.profile.mode ?? 'mount';
  if (mode === 'mount') return [];
  const root = copyRootOf(plan.profile, plan.folder);
  const found: Array<{ local: string; remote: string }> = [];
  for (const l of plan.links) {
    if (!plan.outputs.includes(l.link)) continue;
    const place = copyPlaceOf(plan.profile, root, l.target);
    if ((await inspectLink(l.link)).target === place.local) found.push(place);
  }
  return found;
}

/** The workspace's `.rclone-devbox/` holds gigabytes of local copies: a `.gitignore` in it keeps them out of git. */
async function ignoredByGit(folder: string, root: string): Promise<void> {
  const ours = join(folder, '.rclone-devbox');
  if (relative(ours, root).startsWith('..')) return;
  await mkdir(ours, { recursive: true });
  await writeFile(join(ours, '.gitignore'), '# Local copies of Rclone Dev Box (copy mode): not for git.\n*\n', {
    flag: 'wx',
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
}

async function mountStep(profile: MountProfile, events: BringUpEvents, opts: BringUpOptions): Promise<Mount> {
  const { registry, signal } = opts;
  const t = performance.now();
  events.progress?.('mount', l10n.t('mounting…'));
  const mp = await registry.canonical(profile.mountPoint);
  const found = await registry.look(mp);
  if (found?.state === 'stale') {
    events.line(l10n.t`mount   ${mp} is a dead mount (its rclone is gone): repairing it first`);
    await registry.repair(mp);
  }
  const m = await registry.mount(profile, { signal, timeoutMs: opts.mountTimeoutMs });
  const who = m.external ? l10n.t('by another tool') : `rclone pid ${m.pid}`;
  events.line(
    m.started
      ? l10n.t`mount   ${m.remote} on ${m.mountPoint} (${who}, ready in ${secs(performance.now() - t)})`
      : l10n.t`mount   ${m.remote} on ${m.mountPoint} (already mounted, ${who})`,
  );
  return m;
}

async function warmStep(plan: BringUpPlan, mount: Mount, events: BringUpEvents, opts: BringUpOptions): Promise<void> {
  const target = await targetOf(opts.registry, (await opts.registry.look(mount.mountPoint)) ?? mount);
  const percent = (p: MetadataProgress | ContentProgress) =>
    'bytesDone' in p
      ? `${Math.floor((100 * p.bytesDone) / Math.max(1, p.bytesTotal))}%`
      : l10n.t`${p.dirs + p.files} entries`;
  const r = await prewarm(opts.registry, target, plan.warm, {
    content: plan.content,
    signal: opts.signal,
    onMetadata: (p) => events.progress?.('warm', percent(p)),
    onContent: (p) => events.progress?.('warm', percent(p)),
  });
  const names = plan.warm.map((w) => relative(mount.mountPoint, w) || '/').join(', ');
  // The counts are the mount's (what its directory cache holds now), not only the warmed folders'.
  const known = r.metadata.dirs + r.metadata.files;
  const took = secs(r.metadata.ms);
  events.line(
    r.metadata.way === 'walk'
      ? l10n.t`warm    ${names}: listed in ${took}, walked: another tool's mount; the mount knows ${known} folders and files`
      : l10n.t`warm    ${names}: listed in ${took}; the mount knows ${known} folders and files`,
  );
  if (r.content)
    events.line(
      l10n.t`warm    content: ${formatBytes(r.content.bytes)} read, ${formatBytes(r.content.skippedBytes)} already cached (${secs(r.content.ms)})`,
    );
}

/** The app can start: its interpreter and script exist, its port is free (unless it already runs). */
async function appPreflight(spec: AppSpec, stateDir: string): Promise<void> {
  if ((await findApps(stateDir, spec.cwd)).some((a) => a.label === spec.label)) return;
  await resolveCommand(spec);
  const port = portOf(spec.readyUrl, spec.command);
  if (port !== undefined) await checkPortFree(port);
}

async function appStep(
  spec: AppSpec,
  stateDir: string,
  events: BringUpEvents,
  opts: BringUpOptions,
): Promise<NonNullable<BroughtUp['app']>> {
  events.progress?.('app', l10n.t('starting app…'));
  // Two windows, or a window and the CLI, bringing the same app up at once: one starts it, the
  // other finds it. The look and the start are one step under a lock (the port check alone would
  // let both pass before either app has bound its port).
  const found = await withLock(join(stateDir, 'locks'), `app:${spec.cwd}\0${spec.label ?? ''}`, 30_000, async () => {
    const running = (await findApps(stateDir, spec.cwd)).find((a) => a.label === spec.label);
    return running ? { running } : { started: await startApp(spec, { stateDir, signal: opts.signal }) };
  });
  const { running } = found;
  if (running) {
    // A reload, a second window or the CLI after the editor: the app runs; show it, don't start a copy.
    events.line(
      running.url
        ? l10n.t`app     already running (pid ${running.pid}, ${running.url}): not started again`
        : l10n.t`app     already running (pid ${running.pid}): not started again`,
    );
    events.line(`        ${l10n.t`its earlier output is in ${running.logFile}`}`);
    const exited = whenGone(running, opts.follow);
    const tail = follow(running, events, opts, await sizeOf(running.logFile));
    await waitAppReady(running, spec, { signal: opts.signal });
    return { record: running, reused: true, url: running.url, exited, following: tail.following };
  }
  const { record, exited } = found.started!;
  events.line(l10n.t`app     ${record.command.join(' ')} (pid ${record.pid}, in ${record.cwd})`);
  const tail = follow(record, events, opts, 0);
  try {
    await waitAppReady(record, spec, { signal: opts.signal, exited });
    await tail.catchUp(); // the app's lines up to "ready" come before ours
  } catch (e) {
    await tail.catchUp(); // its last words (a traceback) before the failure
    // Never ready: stopped, with whatever it started (a failed app is gone, its children may not be).
    await stopApp(record, stateDir);
    if (e instanceof Error) seeAlso.set(e, record.logFile);
    throw e;
  }
  return { record, reused: false, url: record.url, exited, following: tail.following };
}

/** Passes the app's output on from `from` (its log file's offset) until opts.follow aborts. */
function follow(r: AppRecord, events: BringUpEvents, opts: BringUpOptions, from: number) {
  if (!events.output || !opts.follow) return { following: Promise.resolve(), catchUp: () => Promise.resolve() };
  const tail = new OutputTail(r.logFile, events.output, from);
  return { following: tail.follow(opts.follow).catch(() => undefined), catchUp: () => tail.catchUp() };
}

const sizeOf = (file: string): Promise<number> =>
  stat(file).then(
    (s) => s.size,
    () => 0,
  );

/** Resolves once a process we did not start (found after a reload) has ended; polled, stopped by `signal`. */
function whenGone(r: AppRecord, signal?: AbortSignal): Promise<number | null> {
  return new Promise((done) => {
    const timer = setInterval(() => {
      if (!sameProcess(r.pid, r.identity)) {
        clearInterval(timer);
        done(null);
      }
    }, 500);
    timer.unref(); // never what keeps a process alive: the caller waits on it only while it follows the app
    signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
  });
}

/** The file that tells more about a failure (the app's output), named on its line for the problem matcher. */
const seeAlso = new WeakMap<Error, string>();

/** The error as the last lines of a bring-up: what failed (and where to read more), and the fix. */
export function failureLines(e: unknown): string[] {
  const message = e instanceof Error ? e.message : String(e);
  const see = e instanceof Error && seeAlso.get(e);
  // The message is already in the user's language; the prefix and " (see <file>)" stay English.
  const first = `${FAILED}: ${message}${see ? ` (see ${see})` : ''}`;
  return isRcloneError(e) && e.fix ? [first, `  ${l10n.t`fix: ${e.fix}`}`] : [first];
}

/** The remote's name in "remote:bucket/path" ("remote,opt=v:…" too); undefined for a local path. */
export function remoteNameOf(path: string): string | undefined {
  const colon = path.indexOf(':');
  return (colon > 0 ? path.slice(0, colon).split(',')[0] : undefined) || undefined;
}

/** A word for a shell command line: as it is when plain, else in single quotes. */
export const shellWord = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * How to add the team's remote `name` from a shell, as the team profile describes it: `rclone
 * config create` with its provider, endpoint and region filled in, its keys then asked by `rclone
 * config` (never put on a command line); for a credentials command, with the AWS config profile
 * rclone reads it from, as Add Remote writes it.
 */
export function teamRemoteCommand(name: string, team: TeamRemote, env: NodeJS.ProcessEnv = process.env): string {
  const args = ['rclone', 'config', 'create', shellWord(name), 's3'];
  for (const key of ['provider', 'endpoint', 'region'] as const) if (team[key]) args.push(key, shellWord(team[key]));
  if (team.credentials === 'command') {
    const profile = profileFor(name);
    args.push('env_auth', 'true', 'profile', profile);
    return l10n.t(
      '`{0}`, with the lines "[profile {1}]" and "credential_process = {2}" in {3}',
      args.join(' '),
      profile,
      team.command ?? '',
      awsConfigFile(env),
    );
  }
  // Keys are never put on a command line (shell history, ps): `rclone config` asks for them.
  return team.credentials === 'session'
    ? l10n.t(
        '`{0}`, then its keys and session token with `rclone config`, choosing e (Edit existing remote) (it asks for them)',
        args.join(' '),
      )
    : l10n.t(
        '`{0}`, then its keys with `rclone config`, choosing e (Edit existing remote) (it asks for them)',
        args.join(' '),
      );
}

/**
 * RemoteNotFound when the team profile names the remote `path` is on and rclone's config (`remotes`,
 * read from `configPath`) has no remote of that name, saying that the team profile names it and
 * how to add it (`rclone-devbox setup` first; said by the CLI's `up` and `doctor`, run in the
 * team profile's folder); undefined when it is there, or when the team profile does not name it
 * (rclone's own error says the rest).
 */
export function teamRemoteMissing(
  path: string,
  team: TeamProfile | undefined,
  remotes: readonly Pick<Remote, 'name'>[],
  configPath: string,
  env: NodeJS.ProcessEnv = process.env,
): RcloneError | undefined {
  const name = remoteNameOf(path);
  const described = name !== undefined && team ? team.remotes[name] : undefined;
  if (!name || !team || !described || remotes.some((r) => r.name === name)) return undefined;
  return new RcloneError(
    'RemoteNotFound',
    l10n.t`There is no remote called "${name}" in ${configPath}; the team profile ${team.file} names it.`,
    {
      fix: l10n.t`Add it: \`rclone-devbox setup\` in this folder, or in the editor "Rclone: Apply Team Profile" (both ask only for the secrets); by hand: ${teamRemoteCommand(name, described, env)}.`,
    },
  );
}
