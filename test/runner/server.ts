// Starts and stops the VS Code server (code-server's bundled VS Code, run directly through
// server-main.js: code-server's own CLI rejects --enable-smoke-test-driver, which is what makes
// the server honour the `payload` URL parameter carrying extensionDevelopmentPath/TestsPath).
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../src/core/processes';
import { editorEnv, type TestBox } from '../integration/box';
import { findFiles, waitFor } from './util';
import type { VscodeServerInstall } from './vscodeCache';

export interface VscodeServer {
  port: number;
  pid: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The server's stdout and stderr. */
  logFile: string;
  /** Why the server is gone, or undefined while it runs. */
  exited(): string | undefined;
  /** Extension host logs written so far (one per window). */
  extensionHostLogs(): string[];
  /** Ends the server's whole process group (server, extension hosts, pty host): SIGTERM, then SIGKILL. */
  stop(): Promise<void>;
}

/** What the server needs of a box (a TestBox, or the demo's): its dirs, its workspace and its environment. */
export type ServerSite = Pick<TestBox, 'dir' | 'dataDir' | 'extensionsDir' | 'env'> & {
  info: Pick<TestBox['info'], 'workspace'>;
};

/**
 * Starts the server on 127.0.0.1 and waits until it answers HTTP. `port`: default a free one;
 * `quiet`: do not print its command line (the demo's output is for a newcomer); `args`: more of
 * the server's options (`--locale zh-cn`).
 */
export async function startServer(
  install: VscodeServerInstall,
  tb: ServerSite,
  opts: { port?: number; quiet?: boolean; args?: string[] } = {},
): Promise<VscodeServer> {
  const port = opts.port ?? (await freePort());
  const logFile = join(tb.dir, 'server.log');
  const args = [
    install.serverMain,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--enable-smoke-test-driver',
    '--disable-telemetry',
    '--user-data-dir',
    tb.dataDir,
    '--server-data-dir',
    tb.dataDir,
    '--extensions-dir',
    tb.extensionsDir,
    ...(opts.args ?? []),
  ];
  if (!opts.quiet) console.log(`  ${install.node} ${args.join(' ')}`);
  // detached: its own process group, so stop() reaches the extension hosts it forks as well.
  const child = execa(install.node, args, {
    cwd: tb.info.workspace,
    env: editorEnv(tb.env),
    extendEnv: false,
    detached: true,
    cleanup: false,
    stdin: 'ignore',
    // Both appended to one file (through this process: if the runner dies, the server loses its pipe too).
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${install.node}`);
  let exitReason: string | undefined;
  void child.then((r) => {
    exitReason = `the server exited (${r.signal ?? `code ${r.exitCode}`}); see ${logFile}`;
  });

  const origin = `http://127.0.0.1:${port}`;
  const server: VscodeServer = {
    port,
    pid,
    origin,
    logFile,
    exited: () => exitReason,
    // logs/<session>/exthost<N>/remoteexthost.log here; the names have changed between VS Code versions.
    extensionHostLogs: () => findFiles(join(tb.dataDir, 'logs'), (n) => /^(remote)?exthost\.log$/i.test(n)),
    stop: () => stopGroup(pid),
  };
  try {
    await waitFor(() => answers(origin), {
      what: `the VS Code server on ${origin}`,
      timeoutMs: 60_000,
      failFast: server.exited,
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** true once the server answers HTTP at all (any status); undefined while it does not. */
async function answers(origin: string): Promise<true | undefined> {
  try {
    await fetch(origin, { signal: AbortSignal.timeout(2_000), redirect: 'manual' });
    return true;
  } catch {
    return undefined;
  }
}

/** Pids whose process group is `pgid` (from /proc/<pid>/stat, field 5). */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.split(' ');
      // fields[0] is the state, fields[2] the process group; zombies are already dead.
      if (fields && fields[0] !== 'Z' && Number(fields[2]) === pgid) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function signalGroupAndWait(pgid: number, sig: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(-pgid, sig);
  } catch {
    return true; // no such group: all gone
  }
  const deadline = Date.now() + timeoutMs;
  while (groupMembers(pgid).length) {
    if (Date.now() > deadline) return false;
    await delay(100);
  }
  return true;
}

async function stopGroup(pgid: number): Promise<void> {
  if (await signalGroupAndWait(pgid, 'SIGTERM', 5_000)) return;
  console.error(`  server group ${pgid} still alive after SIGTERM (${groupMembers(pgid).join(', ')}); SIGKILL`);
  if (!(await signalGroupAndWait(pgid, 'SIGKILL', 3_000)))
    console.error(`  server group ${pgid} survived SIGKILL: ${groupMembers(pgid).join(', ')}`);
}
