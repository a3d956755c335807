// The world the integration suites run against, shared by both runners (VS Code server + Chromium,
// and desktop VS Code via @vscode/test-electron): a real S3 server seeded like an IndexTTS2 bucket,
// an rclone.conf pointing at it, a workspace, a mount root, a state dir and editor settings, all
// under one temp dir, so that cleanup can find everything (mounts, processes) by that prefix.
// This file runs in the runners (plain Node), never in the extension host.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { endProcess } from '../../src/core/processes';
import { putObjects, startBox, type Box } from '../helpers/fixtures';
import { BOX_ENV, REPORT_ENV, SECRET_ENV, type BoxInfo } from './boxInfo';
import { QUIET_EDITOR } from '../runner/editorSettings';

/** Objects per bucket. Every top-level folder has a `.keep` marker: s3rver lists prefixes only one level deep. */
export const SEED: Record<string, Record<string, string>> = {
  'index-tts-data': {
    'cache_hub/.keep': '',
    'cache_hub/gpt.pth': 'g'.repeat(4096),
    'cache_hub_v23/.keep': '',
    'cache_hub_v23/gpt.pth': 'G'.repeat(4096),
    'webui.py': 'print("IndexTTS web UI stand-in")\n',
  },
  'other-bucket': {
    'readme.txt': 'another bucket\n',
  },
};

export interface TestBox {
  info: BoxInfo;
  box: Box;
  /** The temp dir everything lives under. */
  dir: string;
  /** The editor's --user-data-dir (and, for the server, --server-data-dir). */
  dataDir: string;
  extensionsDir: string;
  reportFile: string;
  /** Settings written for the editor. */
  settings: Record<string, unknown>;
  /** Variables the extension host must see (on top of the parent environment). */
  env: Record<string, string>;
}

/** Starts the S3 server, seeds it and lays out the box dir. The caller must call disposeTestBox(). */
export async function startTestBox(host: BoxInfo['host']): Promise<TestBox> {
  const box = await startBox(Object.keys(SEED));
  try {
    for (const [bucket, objects] of Object.entries(SEED)) await putObjects(box, bucket, objects);
    // Canonical (a symlinked TMPDIR resolved), as mount points are: prefix matches against
    // /proc/self/mountinfo and the registry's list then find exactly this box's mounts.
    const dir = realpathSync(box.dir);
    const sub = (name: string) => {
      const path = join(dir, name);
      mkdirSync(path, { recursive: true });
      return path;
    };
    const info: BoxInfo = {
      host,
      endpoint: box.s3.endpoint,
      configFile: join(dir, 'rclone.conf'), // box.configFile, by its canonical path
      mountRoot: sub('mnt'),
      workspace: sub('workspace'),
      stateDir: sub('state'),
      buckets: Object.fromEntries(Object.entries(SEED).map(([b, objects]) => [b, Object.keys(objects)])),
    };
    const settings = {
      ...QUIET_EDITOR,
      'workbench.startupEditor': 'none',
      'rclone.configFile': info.configFile,
      'rclone.mountRoot': info.mountRoot,
    };
    const reportFile = join(dir, 'report.json');
    return {
      info,
      box,
      dir,
      dataDir: sub('vscode-data'),
      extensionsDir: sub('ext'),
      reportFile,
      settings,
      env: {
        // The editor's sockets and temp files (vscode-ipc-*.sock, vscode-git-*.sock…) go here, not to /tmp.
        TMPDIR: sub('tmp'),
        // rclone's default --cache-dir is $XDG_CACHE_HOME/rclone: a mount without a profile (Mount… from
        // the palette, the UI test) caches here, never in ~/.cache/rclone, which a real box's own mounts use.
        XDG_CACHE_HOME: sub('cache'),
        XDG_STATE_HOME: info.stateDir,
        RCLONE_CONFIG: info.configFile,
        // A credentials command goes into the AWS config file: this box's, never the user's ~/.aws/config.
        AWS_CONFIG_FILE: join(dir, 'aws-config'),
        [REPORT_ENV]: reportFile,
        [SECRET_ENV]: `sekrit-${randomBytes(8).toString('hex')}`,
        [BOX_ENV]: JSON.stringify(info),
      },
    };
  } catch (e) {
    await box.dispose();
    throw e;
  }
}

/**
 * Writes the settings where the editor reads them: `<data>/User/settings.json` for user settings
 * (desktop, and the browser side of the server), and for the server also its remote machine
 * settings, which is where machine-scoped settings like rclone.configFile must be in a remote window
 * (a remote ignores them in user settings). The server reads those from `<user-data-dir>/Machine/`;
 * only without --user-data-dir is that `<server-data-dir>/data/Machine/`.
 */
export function writeSettings(
  dataDir: string,
  settings: Record<string, unknown>,
  where: Array<'User' | 'Machine'>,
): string[] {
  return where.map((sub) => {
    const dir = join(dataDir, sub);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
    return file;
  });
}

/**
 * The parent environment for an editor we start, plus `extra`. Variables of an enclosing VS Code
 * (a developer running this from its terminal) are dropped: VSCODE_IPC_HOOK_CLI and friends would
 * point the child at the wrong editor, ELECTRON_RUN_AS_NODE would turn desktop Code into plain Node.
 */
export function editorEnv(
  extra: Record<string, string>,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !fromEnclosingEditor(k)) env[k] = v;
  return { ...env, ...extra };
}

export const fromEnclosingEditor = (name: string): boolean =>
  name.startsWith('VSCODE_') || name === 'ELECTRON_RUN_AS_NODE';

/** Pids (other than ours) with an argument that is `dir` or a path under it, read from /proc. */
export function processesMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a === dir || a.endsWith(`=${dir}`) || a.includes(`${dir}/`))) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Lazily unmounts every rclone FUSE mount under `dir` (bounded); returns the mount points. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const points = (await readRcloneMounts())
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  for (const point of points) {
    // -z: detach even when busy, so a stuck mount cannot block cleanup.
    const r = await execa('fusermount3', ['-uz', point], { reject: false, timeout: 10_000, stdin: 'ignore' });
    if (r.failed) console.error(`fusermount3 -uz ${point}: ${r.stderr || r.shortMessage}`);
  }
  return points;
}

/**
 * Releases the box: unmounts what is left under it, ends every process whose argv mentions it
 * (rclone mounts, anything a test started there), stops the S3 server, removes the dir
 * unless `keep`. Safe to call after a failure at any point.
 */
export async function disposeTestBox(tb: TestBox, keep = false): Promise<void> {
  const unmounted = await unmountUnder(tb.dir);
  if (unmounted.length) console.log(`cleanup: unmounted ${unmounted.join(', ')}`);
  const pids = processesMentioning(tb.dir);
  if (pids.length) console.log(`cleanup: ending leftover processes ${pids.join(', ')}`);
  await Promise.all(pids.map((pid) => endProcess(pid, 3_000)));
  const stillMounted = (await readRcloneMounts()).filter((m) => m.mountPoint.startsWith(`${tb.dir}/`));
  if (keep || stillMounted.length) {
    // Never rm -r through a live mount: it would delete the remote's objects.
    if (stillMounted.length)
      console.error(
        `cleanup: ${stillMounted.map((m) => m.mountPoint).join(', ')} still mounted; not removing ${tb.dir}`,
      );
    await tb.box.s3.stop();
    console.log(`kept ${tb.dir}`);
  } else {
    await tb.box.dispose();
  }
}
