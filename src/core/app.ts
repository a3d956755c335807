// The user's app (IndexTTS2's `python webui.py`), started once storage is ready: resolved to a real
// interpreter and script, started detached with its output in a log file, found again by a later
// window or the CLI (pid + identity + port), and stopped with its whole process tree.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import * as l10n from '@vscode/l10n';
import { RcloneError, redact } from './errors';
import { writeAtomically } from './files';
import { LogTail } from './mountLog';
import { isExecutableFile, onPath, processIdentity, sameProcess } from './processes';
import { keyOf } from './records';

export interface AppSpec {
  /** As the task gives it; a first word "python" or "python3" means the workspace's Python (see resolveCommand). */
  command: readonly string[];
  /** Absolute. */
  cwd: string;
  /** The task's extra variables. */
  env?: Record<string, string>;
  /** The Python extension's selected interpreter, when the editor knows it. */
  python?: string;
  readyUrl?: string;
  /** Regex source matched against output lines; an alternative to readyUrl. */
  readyPattern?: string;
  /** Default 300_000: a real model load takes minutes. */
  readyTimeoutMs?: number;
  label?: string;
}

export interface AppRecord {
  pid: number;
  /** processIdentity(pid) when started: a reused pid is not our app. */
  identity: string;
  cwd: string;
  /** What was started: the resolved program, then its arguments. */
  command: string[];
  port?: number;
  url?: string;
  logFile: string;
  startedAt: number;
  label?: string;
}

const missing = (message: string, fix?: string) => new RcloneError('AppMissing', message, { fix });
/** Called when needed, not at load: the language bundle is configured after modules load. */
const fixCommand = () => l10n.t('Fix the task\'s "command" (a script path is relative to its folder, "cwd").');

const isDir = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() === true;
const isFile = async (path: string) => (await stat(path).catch(() => undefined))?.isFile() === true;

/**
 * The program to run and its arguments. "python"/"python3" is the interpreter the user chose in the
 * editor, else the workspace's .venv, else python3 on PATH: never a bare "python", which on many
 * boxes is Python 2 or missing. The script (first argument ending in .py) must be in `cwd`.
 */
export async function resolveCommand(
  spec: AppSpec,
  env: NodeJS.ProcessEnv = appEnv(process.env, spec.env),
): Promise<{ file: string; args: string[] }> {
  const [first, ...args] = spec.command;
  if (!first) throw missing(l10n.t('The task has no "command".'), fixCommand());
  if (!(await isDir(spec.cwd)))
    throw missing(
      l10n.t`The app's folder ${spec.cwd} does not exist.`,
      l10n.t('Fix the task\'s "cwd", or open the right folder.'),
    );
  let file: string | undefined;
  if (first === 'python' || first === 'python3') {
    const venv = join(spec.cwd, '.venv/bin/python');
    if (spec.python) {
      file = resolve(spec.cwd, spec.python);
      if (!isExecutableFile(file))
        throw missing(
          l10n.t`The selected Python interpreter ${spec.python} was not found.`,
          l10n.t(
            'Select another with "Python: Select Interpreter", or create a .venv in the folder (python3 -m venv .venv).',
          ),
        );
    } else {
      file = isExecutableFile(venv) ? venv : onPath('python3', env);
      if (!file) throw missing(l10n.t`Python was not found: no .venv/bin/python in ${spec.cwd}, no python3 on PATH.`);
    }
    const script = args.find((a) => a.endsWith('.py'));
    if (script && !(await isFile(resolve(spec.cwd, script))))
      throw missing(l10n.t`${script} was not found in ${spec.cwd}.`, fixCommand());
  } else if (first.includes('/')) {
    file = resolve(spec.cwd, first);
    if (!isExecutableFile(file))
      throw missing(l10n.t`${first} was not found in ${spec.cwd} (or is not executable).`, fixCommand());
  } else {
    file = onPath(first, env);
    if (!file)
      throw missing(l10n.t`${first} was not found on PATH.`, l10n.t`Install ${first}, or fix the task's "command".`);
  }
  return { file, args };
}

/**
 * The app's environment: ours, minus what belongs to the editor or to rclone, plus colour and
 * unbuffered output, then the task's own variables (which win).
 */
export function appEnv(parent: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    // ELECTRON_RUN_AS_NODE would make any Electron app the user starts behave as plain node; the
    // VSCODE_* variables (IPC hooks, the extension host's pid, nls config) describe a window that
    // the app outlives.
    if (name.startsWith('VSCODE_') || name.startsWith('ELECTRON_')) continue;
    // RCLONE_* may carry keys (RCLONE_CONFIG_<REMOTE>_SECRET_ACCESS_KEY) and our rc password. AWS_*
    // stay: the user's app may read its own bucket with them.
    if (name.startsWith('RCLONE_')) continue;
    env[name] = value;
  }
  env.PYTHONUNBUFFERED = '1'; // each line reaches the log (and the terminal tailing it) when printed
  // Output goes to a file, so libraries would turn colour off; the terminal that shows the log
  // renders ANSI as it is. FORCE_COLOR: node, rich, gradio's logs; PY_COLORS: pytest and friends;
  // CLICOLOR_FORCE: the BSD/cli convention.
  Object.assign(env, { FORCE_COLOR: '1', PY_COLORS: '1', CLICOLOR_FORCE: '1' });
  return Object.assign(env, extra);
}

/** The port the app serves: readyUrl's (80/443 by scheme when it names none), else `--port N` in the command. */
export function portOf(url: string | undefined, command: readonly string[] = []): number | undefined {
  let port: number | undefined;
  if (url) {
    try {
      const u = new URL(url);
      port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    } catch {
      return undefined;
    }
  } else {
    const at = command.indexOf('--port');
    const eq = command.find((a) => a.startsWith('--port='));
    port = Number(at >= 0 ? command[at + 1] : eq?.slice('--port='.length));
  }
  return Number.isInteger(port) && port! > 0 && port! < 65536 ? port : undefined;
}

export interface PortHolder {
  pid?: number;
  name?: string;
  command?: string;
}

const readProc = (pid: number, what: string): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/${what}`, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * Who listens on `port` (any address, IPv4 or IPv6), from /proc: the socket's inode, then the
 * process with an fd on it. Another user's processes cannot be looked into: then the holder has no
 * pid. Synchronous reads of /proc (no disk behind it): a few ms for a few hundred processes.
 */
export async function portHolder(port: number): Promise<PortHolder | undefined> {
  const sockets = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state === '0A' && local && inode && inode !== '0' && parseInt(local.split(':').pop()!, 16) === port)
        sockets.add(`socket:[${inode}]`); // 0A: LISTEN
    }
  }
  if (!sockets.size) return undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${name}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (!sockets.has(target)) continue;
      const pid = Number(name);
      const argv = (readProc(pid, 'cmdline') ?? '').split('\0').filter(Boolean).join(' ');
      return {
        pid,
        name: readProc(pid, 'comm')?.trim(),
        command: argv.length > 120 ? `${argv.slice(0, 119)}…` : argv,
      };
    }
  }
  return {};
}

export async function checkPortFree(port: number): Promise<void> {
  const holder = await portHolder(port);
  if (!holder) return;
  if (holder.pid === undefined)
    throw new RcloneError('PortInUse', l10n.t`Port ${port} is already in use by a process of another user.`);
  const who = `${holder.name ?? l10n.t('a process')} (pid ${holder.pid}${holder.command ? `: ${holder.command}` : ''})`;
  throw new RcloneError('PortInUse', l10n.t`Port ${port} is already in use by ${who}.`);
}

export interface RunningApp {
  record: AppRecord;
  /**
   * The exit code, or null when a signal ended it; known only to the process that started it. The
   * child is unref'd (the CLI may exit while the app runs on), so this promise alone does not keep
   * Node running: a caller that waits for the end also follows the output, or holds a timer.
   */
  exited: Promise<number | null>;
}

const appsDir = (stateDir: string) => join(stateDir, 'apps');
const appKey = (cwd: string, label?: string) => keyOf(`${cwd}\0${label ?? ''}`);
const recordFile = (stateDir: string, r: Pick<AppRecord, 'cwd' | 'label'>) =>
  join(appsDir(stateDir), `${appKey(r.cwd, r.label)}.json`);

/** Creates (or truncates) the log. O_APPEND: were it truncated under the app by a new start, the app writes on at its end. */
function openLog(file: string): number {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    return openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND, 0o600);
  } catch (e) {
    throw new RcloneError('PermissionDenied', l10n.t`Cannot write the app's log ${file}.`, {
      fix: l10n.t`Make ${dirname(file)} writable for this user.`,
      detail: (e as Error).message,
    });
  }
}

/**
 * Starts the app detached: its own session and process group, so it outlives the editor's
 * extension host (a window reload) and its whole tree can be found and ended later. Its stdout and
 * stderr go to `<stateDir>/apps/<key>.log` (truncated), which callers tail with followOutput.
 */
export async function startApp(spec: AppSpec, opts: { stateDir: string; signal?: AbortSignal }): Promise<RunningApp> {
  const cancelled = () =>
    new RcloneError(
      'Cancelled',
      spec.label === undefined
        ? l10n.t('Starting the app was cancelled.')
        : l10n.t`Starting ${spec.label} was cancelled.`,
    );
  if (opts.signal?.aborted) throw cancelled();
  const env = appEnv(process.env, spec.env);
  const { file, args } = await resolveCommand(spec, env);
  const port = portOf(spec.readyUrl, spec.command);
  if (port !== undefined) await checkPortFree(port);
  const logFile = join(appsDir(opts.stateDir), `${appKey(spec.cwd, spec.label)}.log`);
  if (opts.signal?.aborted) throw cancelled();
  const log = openLog(logFile);
  let child: ChildProcess;
  try {
    child = spawn(file, args, { cwd: spec.cwd, env, detached: true, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log); // the child has its own copy
  }
  const failed = new Promise<Error>((ok) => child.on('error', ok));
  const pid = child.pid;
  if (pid === undefined) throw missing(l10n.t`${file} could not be started: ${(await failed).message}`, fixCommand());
  // Read now, before any await: a process that died at once is still a zombie (with its stat) until reaped.
  const identity = processIdentity(pid);
  if (identity === undefined)
    throw new RcloneError('AppFailed', l10n.t('The app ended as soon as it started.'), {
      detail: await lastLines(logFile),
    });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  child.unref(); // the editor may close while the app runs on
  const record: AppRecord = {
    pid,
    identity,
    cwd: spec.cwd,
    command: [file, ...args],
    port,
    url: spec.readyUrl,
    logFile,
    startedAt: Date.now(),
    label: spec.label,
  };
  try {
    await writeAtomically(recordFile(opts.stateDir, spec), JSON.stringify(record, null, 2) + '\n');
  } catch (e) {
    process.kill(-pid, 'SIGKILL'); // an app no later window could find must not run on
    throw e;
  }
  return { record, exited };
}

/** Waits `ms`, or less when `signal` aborts; leaves no timer or listener behind. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((ok) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      ok();
    };
    const timer = setTimeout(done, ms);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Passes on what the log gains (raw text: ANSI colours and \n as written). A UTF-8 character split
 * between two reads is passed on whole; a log truncated by a new start is followed from its
 * beginning. Reads never overlap: catchUp() and the polling loop take turns.
 */
export class OutputTail {
  private decoder = new StringDecoder('utf8');
  private readonly buf = Buffer.alloc(64 * 1024);
  private turn: Promise<void> = Promise.resolve();

  constructor(
    private readonly logFile: string,
    private readonly onText: (text: string) => void,
    private offset = 0,
  ) {}

  /** Reads what the log holds now; resolves once it has been passed on. */
  catchUp(): Promise<void> {
    this.turn = this.turn.then(() => this.readNew()).catch(() => undefined);
    return this.turn;
  }

  /** Polls every 100 ms until `signal` aborts, then catches up once more for what came last. */
  async follow(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.catchUp();
      await pause(100, signal);
    }
    await this.catchUp();
  }

  private async readNew(): Promise<void> {
    const handle = await open(this.logFile, 'r').catch(() => undefined); // not there yet
    if (!handle) return;
    try {
      const { size } = await handle.stat();
      if (size < this.offset) [this.offset, this.decoder] = [0, new StringDecoder('utf8')];
      while (this.offset < size) {
        // Up to the size seen now: a chatty app cannot keep us from noticing the abort.
        const { bytesRead } = await handle.read(
          this.buf,
          0,
          Math.min(this.buf.length, size - this.offset),
          this.offset,
        );
        if (!bytesRead) break;
        this.offset += bytesRead;
        const text = this.decoder.write(this.buf.subarray(0, bytesRead));
        if (text) this.onText(text);
      }
    } finally {
      await handle.close();
    }
  }
}

/** Calls `onText` with what the log gains until `signal` aborts, then once more for what came last. */
export function followOutput(
  logFile: string,
  onText: (text: string) => void,
  opts: { from?: number; signal: AbortSignal },
): Promise<void> {
  return new OutputTail(logFile, onText, opts.from).follow(opts.signal);
}

/**
 * Does `url` answer with anything but a server error? One GET, bounded to 1 s, settled only once
 * its socket is closed. agent false: a socket of its own, no keep-alive. A local app's self-signed
 * certificate is fine: only whether it answers matters.
 */
function answers(url: URL, signal?: AbortSignal): Promise<boolean> {
  return new Promise((ok) => {
    let status: number | undefined;
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const req = get(url, { agent: false, signal, rejectUnauthorized: false }, (res) => {
      status = res.statusCode;
      res.on('error', () => undefined).resume(); // read and drop the body
    });
    const timer = setTimeout(() => req.destroy(), 1_000); // a slow body after the status is still an answer
    req.on('error', () => undefined); // refused, reset, aborted: not (yet) an answer
    req.once('close', () => {
      clearTimeout(timer);
      ok(status !== undefined && status < 500);
    });
  });
}

const seconds = (ms: number) => (ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)}m` : `${+(ms / 1000).toFixed(1)}s`);

/** The log's last lines as a terminal would have left them: colours removed, a \r-redrawn progress bar at its last state. */
async function lastLines(file: string, count = 20): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text
    .slice(-64 * 1024)
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') // eslint-disable-line no-control-regex
    .split('\n')
    .map((l) => l.split('\r').filter(Boolean).pop() ?? '')
    .filter((l) => l.trim());
  return redact(lines.slice(-count).join('\n'));
}

/**
 * Waits until the app answers at readyUrl (any status below 500) or prints a line matching
 * readyPattern. Fails when the app ends first (AppFailed, with its last lines), when the bound
 * passes (Timeout: the app is left running, for the caller to stop or keep), or on cancel.
 */
export async function waitAppReady(
  app: AppRecord,
  spec: Pick<AppSpec, 'readyUrl' | 'readyPattern' | 'readyTimeoutMs'>,
  opts: { signal?: AbortSignal; exited?: Promise<number | null> } = {},
): Promise<{ ms: number }> {
  const start = Date.now();
  const bound = spec.readyTimeoutMs ?? 300_000;
  let url: URL | undefined;
  try {
    url = spec.readyUrl ? new URL(spec.readyUrl) : undefined;
  } catch {
    throw new RcloneError('AppMissing', l10n.t`The task's readyUrl "${String(spec.readyUrl)}" is not a URL.`, {
      fix: l10n.t('Fix the task\'s "readyUrl", e.g. http://127.0.0.1:7860/.'),
    });
  }
  const pattern = spec.readyPattern === undefined ? undefined : new RegExp(spec.readyPattern);
  const tail = new LogTail(app.logFile, 0);
  const alive = () => sameProcess(app.pid, app.identity);
  let ended: { code: number | null } | undefined;
  void opts.exited?.then((code) => (ended = { code }));
  for (;;) {
    if (opts.signal?.aborted)
      throw new RcloneError('Cancelled', l10n.t('Waiting for the app was cancelled; it runs on.'));
    // With neither a URL nor a pattern there is nothing to wait for: running is ready.
    if (url ? await answers(url, opts.signal) : pattern ? (await tail.read()).some((l) => pattern.test(l)) : alive())
      return { ms: Date.now() - start };
    if (ended || (!opts.exited && !alive())) {
      const message =
        ended === undefined
          ? l10n.t('The app exited before it was ready.')
          : ended.code === null
            ? l10n.t('The app was killed before it was ready.')
            : l10n.t`The app exited with code ${ended.code} before it was ready.`;
      throw new RcloneError('AppFailed', message, {
        detail: await lastLines(app.logFile),
      });
    }
    if (Date.now() - start >= bound) {
      throw new RcloneError(
        'Timeout',
        url
          ? l10n.t`The app did not answer at ${url.href} within ${seconds(bound)}.`
          : l10n.t`The app did not print a line matching /${String(spec.readyPattern)}/ within ${seconds(bound)}.`,
        {
          fix: url
            ? l10n.t(
                'It may still have been loading (its output shows how far it got): check that "readyUrl" is where it listens, or raise the task\'s "readyTimeout" (e.g. "10m").',
              )
            : l10n.t(
                'It may still have been loading (its output shows how far it got): check that "readyPattern" matches what it prints, or raise the task\'s "readyTimeout" (e.g. "10m").',
              ),
        },
      );
    }
    await pause(Date.now() - start < 2_000 ? 50 : 200, opts.signal);
  }
}

/** pid → [ppid, pgrp] of every process now (fields 4 and 5 of /proc/<pid>/stat). */
function processTable(): Map<number, [number, number]> {
  const table = new Map<number, [number, number]>();
  for (const name of readdirSync('/proc')) {
    const stat = /^\d+$/.test(name) ? readProc(Number(name), 'stat') : undefined;
    if (!stat) continue;
    const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    table.set(Number(name), [Number(ppid), Number(pgrp)]);
  }
  return table;
}

/** `root`, its process group, and every descendant of any of them (a child that called setsid leaves the group, not its parent). */
function treeOf(root: number): number[] {
  const table = processTable();
  const tree = new Set([root]);
  for (const [pid, [, pgrp]] of table) if (pgrp === root) tree.add(pid);
  for (let size = 0; size !== tree.size;) {
    size = tree.size;
    for (const [pid, [ppid]] of table) if (tree.has(ppid)) tree.add(pid);
  }
  return [...tree];
}

/**
 * Ends the app and everything it started: SIGTERM to all, SIGKILL after `graceMs` to what is left.
 * The tree is collected before any signal (once the app dies, its children are reparented and no
 * longer found under it), and each process is signalled only while it is still the one seen then.
 * The record goes, the log stays (it says how the app ended).
 */
export async function stopApp(record: AppRecord, stateDir: string, graceMs = 5_000): Promise<void> {
  // With the app gone (it failed, or was killed), what it started in its process group may still
  // run: those are ended too. A pid that is still some group's id is never given to a new process,
  // so a group named by the app's pid is the app's own.
  const leader = sameProcess(record.pid, record.identity);
  const tree = treeOf(record.pid)
    .filter((pid) => leader || pid !== record.pid)
    .map((pid) => ({ pid, identity: processIdentity(pid) ?? '' }))
    .filter((p) => p.identity);
  const alive = () => tree.filter((p) => sameProcess(p.pid, p.identity));
  const signal = (sig: NodeJS.Signals) => {
    for (const p of alive()) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // gone meanwhile
      }
    }
  };
  if (tree.length) {
    signal('SIGTERM');
    for (const deadline = Date.now() + graceMs; alive().length && Date.now() < deadline;) await pause(50);
    signal('SIGKILL');
    for (const deadline = Date.now() + 2_000; alive().length && Date.now() < deadline;) await pause(20);
  }
  if (sameProcess(record.pid, record.identity))
    throw new RcloneError('Timeout', l10n.t`The app (pid ${record.pid}) did not end, even when killed.`, {
      fix: l10n.t`It may be stuck reading from a mount that does not answer: repair the mount, or wait and try again (kill -9 ${record.pid}).`,
    });
  await forget(recordFile(stateDir, record), record);
}

async function readRecord(file: string): Promise<AppRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as Partial<AppRecord>;
    const strings = [r.identity, r.cwd, r.logFile].every((v) => typeof v === 'string');
    return typeof r.pid === 'number' && strings && Array.isArray(r.command) ? (r as AppRecord) : undefined;
  } catch {
    return undefined; // unreadable, or not ours: skip it
  }
}

/** Removes `file` if it still records `record`'s process (a new start may have replaced it meanwhile). */
async function forget(file: string, record: AppRecord): Promise<void> {
  const now = await readRecord(file);
  if (now?.pid === record.pid && now.identity === record.identity) await rm(file, { force: true });
}

/**
 * The apps started by any window or the CLI that still run (records of ended ones are removed),
 * only those in `cwd` when given. `listening`: the app's port is held by it or one of its children.
 */
export async function findApps(stateDir: string, cwd?: string): Promise<Array<AppRecord & { listening: boolean }>> {
  const dir = appsDir(stateDir);
  const found: Array<AppRecord & { listening: boolean }> = [];
  for (const name of (await readdir(dir).catch(() => [])).filter((n) => n.endsWith('.json')).sort()) {
    const record = await readRecord(join(dir, name));
    if (!record) continue;
    if (!sameProcess(record.pid, record.identity)) {
      await forget(join(dir, name), record);
      continue;
    }
    if (cwd !== undefined && record.cwd !== cwd) continue;
    const holder = record.port === undefined ? undefined : await portHolder(record.port);
    const listening = holder?.pid !== undefined && treeOf(record.pid).includes(holder.pid);
    found.push({ ...record, listening });
  }
  return found;
}
