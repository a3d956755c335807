// Bring-up: from nothing to the app's first HTTP answer, the seed boot script's way against ours, side
// by side in one run, on one bucket behind a loopback link with 15 ms added to every request, with
// the same stand-in app (test/fixtures/webui.py reads every file under ./cache_hub, then serves HTTP;
// WEBUI_START_DELAY=2: 2 s in all) and the same model folder behind ./cache_hub for every way.
//   seed        the IndexTTS2 boot script ours replaces, each step a real process (no shell):
//                 rclone mount compshare:index-tts-data /mnt/index-tts-storage --vfs-cache-mode writes \
//                   --allow-other --uid $(id -u) --gid $(id -g) --daemon \
//                   --timeout 1h --transfers 4 --checkers 8 --retries 3 --log-file … --log-level INFO
//                 sleep 5; ln -sf /mnt/index-tts-storage/cache_hub ./cache_hub; python webui.py --listen --port 7860
//               here on a fresh mount point, --cache-dir in the run's dir, python3 in the background
//   ours, CLI   `rclone-devbox up` as the installed command, in a folder whose .vscode/ has the profile
//               (cacheMode full) and a task: link, prewarm the model's content, start the app, readyUrl
//   ours, task  the same definition through bringUp(planOf(…)) in this process: what the editor's task
//               terminal runs (the editor's own click-to-ready also opens that terminal: not in here)
// Each time runs from the first step (a spawn, or the call) to the first HTTP answer (GET every 10
// ms). first_read_from_link: link bytes from the app's spawn to that answer / the model's bytes.
//   npm run bench
import { execa } from 'execa';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findApps, stopApp } from '../src/core/app';
import { bringUp, planOf } from '../src/core/bringup';
import { MountRegistry } from '../src/core/mounts';
import { freePort } from '../src/core/processes';
import { Rclone } from '../src/core/rclone';
import { readWorkspace } from '../src/core/workspace';
import { CLI, cliEnv } from '../test/helpers/cli';
import { type Box, putObjects, ROOT, s3Remote } from '../test/helpers/fixtures';
import { waitFor } from '../test/helpers/mounts';
import { rclonePids } from '../test/helpers/procs';
import type { Proxy } from '../test/helpers/proxy';
import {
  benchOnBox,
  endMountsUnder,
  explain,
  figure,
  Interrupts,
  LINK_MS,
  median,
  saveResults,
  speedup,
  type Target,
} from './results';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUCKET = 'index-tts-data';
/** The model folder every way links ./cache_hub to. */
const MODEL = 'cache_hub_v23';
const FILES = 4;
const FILE_MB = 4;
const MODEL_BYTES = FILES * (FILE_MB << 20);
const START_DELAY = '2';
const READY_BOUND_MS = 120_000;

const interrupts = new Interrupts();
/** Aborted on Ctrl-C: the way that runs stops, ends its app and unmounts (its `finally`). */
const stop = new AbortController();

/** `config`: remote `s3` through the slowed link; `cliEnv`: the CLI's, but its state (XDG_STATE_HOME) per run. */
type World = { box: Box; proxy: Proxy; config: string; rclone: Rclone; cliEnv: Record<string, string> };
/** `fromLink`: link bytes from the app's spawn to its first answer / model bytes; `steps`: our CLI's own lines. */
type Run = { ms: number; fromLink: number; steps?: string };
type RunDir = Awaited<ReturnType<typeof runDir>>;

/** A way's run: its own workspace, mount point, VFS cache, state dir and port. */
async function runDir(root: string, name: string) {
  const dir = join(root, name);
  const port = await freePort();
  const d = {
    dir,
    ws: join(dir, 'ws'),
    mp: join(dir, 'mnt', BUCKET),
    vfs: join(dir, 'vfs'),
    state: join(dir, 'state', 'rclone-devbox'), // the CLI's: $XDG_STATE_HOME/rclone-devbox (see cliWay)
    port,
    url: `http://127.0.0.1:${port}/`,
  };
  // As on the box: the workspace with the app, and the mount point the seed script mounts on.
  mkdirSync(join(d.ws, '.vscode'), { recursive: true });
  mkdirSync(d.mp, { recursive: true });
  copyFileSync(join(ROOT, 'test/fixtures/webui.py'), join(d.ws, 'webui.py'));
  return d;
}

/** Our definition: the mount profile in .vscode/settings.json, the task in .vscode/tasks.json. */
function writeDefinition(d: RunDir): void {
  const profile = { remote: `s3:${BUCKET}`, mountPoint: d.mp, cacheMode: 'full', cacheDir: d.vfs };
  writeFileSync(join(d.ws, '.vscode/settings.json'), JSON.stringify({ 'rclone.mounts': [profile] }, null, 2));
  const task = {
    type: 'rclone-devbox',
    label: 'webui',
    mount: `s3:${BUCKET}`,
    link: { cache_hub: MODEL },
    prewarm: ['cache_hub'],
    prewarmContent: true,
    command: ['python', 'webui.py', '--listen', '--port', String(d.port)],
    readyUrl: d.url,
    env: { WEBUI_START_DELAY: START_DELAY },
  };
  writeFileSync(join(d.ws, '.vscode/tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [task] }, null, 2));
}

/** Does anything answer at `url`? One GET on a socket of its own. */
const answers = (url: string) =>
  new Promise<boolean>((ok) => {
    const req = get(url, { agent: false, timeout: 1_000 }, (res) => ok(!!res.resume())); // the body is dropped
    req.on('timeout', () => req.destroy()).on('error', () => ok(false));
  });

/** ms from `t0` to the first HTTP answer at `url`, asked every 10 ms; `failed` says why to give up. */
async function firstAnswer(url: string, t0: number, failed: () => string | undefined): Promise<number> {
  for (;;) {
    if (await answers(url)) return performance.now() - t0;
    stop.signal.throwIfAborted();
    const why = failed() ?? (performance.now() - t0 > READY_BOUND_MS ? `no answer at ${url}` : undefined);
    if (why) throw new Error(why);
    await delay(10);
  }
}

/**
 * A step of the seed script: a real process, an argument array, cancelled on Ctrl-C. No pipes: a
 * `--daemon` rclone keeps the ones it inherits open, and they would never end.
 */
function step(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  stop.signal.throwIfAborted();
  const more = { extendEnv: false, stdio: 'ignore', cancelSignal: stop.signal, timeout: 60_000 } as const;
  return execa(file, args, { ...opts, env: opts.env ?? process.env, ...more });
}

async function seedWay(w: World, d: RunDir): Promise<Run> {
  const env = { ...w.box.rclone.env, RCLONE_CONFIG: w.config };
  const [uid, gid] = [String(process.getuid!()), String(process.getgid!())];
  const log = join(d.dir, 'rclone.log');
  const t0 = performance.now();
  let app: ReturnType<typeof execa> | undefined;
  try {
    await step(
      w.rclone.path,
      ['mount', `s3:${BUCKET}`, d.mp, '--vfs-cache-mode', 'writes', '--allow-other', '--uid', uid, '--gid', gid]
        .concat(['--daemon', '--timeout', '1h', '--transfers', '4', '--checkers', '8', '--retries', '3'])
        .concat(['--log-file', log, '--log-level', 'INFO', '--cache-dir', d.vfs]),
      { env },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${readFileSync(log, 'utf8')}`); // rclone's errors are in its log file
    });
    await step('sleep', ['5']);
    await step('ln', ['-sf', join(d.mp, MODEL), './cache_hub'], { cwd: d.ws });
    const before = w.proxy.bytesDown();
    app = execa('python3', ['webui.py', '--listen', '--port', String(d.port)], {
      cwd: d.ws,
      env: { WEBUI_START_DELAY: START_DELAY },
      stdin: 'ignore',
      reject: false,
    });
    const ms = await firstAnswer(d.url, t0, () => (app!.exitCode === null ? undefined : 'python3 webui.py exited'));
    return { ms, fromLink: (w.proxy.bytesDown() - before) / MODEL_BYTES };
  } finally {
    app?.kill('SIGTERM');
    await app;
    await execa('fusermount3', ['-u', d.mp], { reject: false });
    await waitFor(() => !rclonePids(d.mp).length, 10_000).catch(() => undefined); // the daemon ends once unmounted
  }
}

async function cliWay(w: World, d: RunDir): Promise<Run> {
  writeDefinition(d);
  const env = { ...w.cliEnv, XDG_STATE_HOME: join(d.dir, 'state') };
  stop.signal.throwIfAborted();
  const t0 = performance.now();
  const up = execa(CLI, ['up'], { cwd: d.ws, env, extendEnv: false, reject: false, stdin: 'ignore' });
  let out = '';
  let before: number | undefined;
  up.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    // `app     <command> (pid …)` is said right after the spawn: the app's model load starts about then.
    if (before === undefined && /^app {5}/m.test(out)) before = w.proxy.bytesDown();
  });
  try {
    const ms = await firstAnswer(d.url, t0, () => (up.exitCode === null ? undefined : `up exited:\n${out}`));
    if (before === undefined) throw new Error(`rclone-devbox up said no "app" line:\n${out}`);
    const steps = out.split('\n').filter((l) => /^(mount|warm|link|app) {2,}/.test(l));
    return { ms, fromLink: (w.proxy.bytesDown() - before) / MODEL_BYTES, steps: steps.join('; ') };
  } finally {
    up.kill('SIGTERM'); // it ends the app and leaves the mount up
    await up;
    const r = await execa(CLI, ['unmount', d.mp], { env, extendEnv: false, reject: false });
    if (r.exitCode) console.error(`rclone-devbox unmount: ${String(r.stderr)}`);
  }
}

async function taskWay(w: World, d: RunDir): Promise<Run> {
  writeDefinition(d);
  const def = await readWorkspace(d.ws);
  const registry = new MountRegistry(w.rclone, { stateDir: d.state });
  let before: number | undefined;
  let failure: string | undefined;
  stop.signal.throwIfAborted();
  const t0 = performance.now();
  const plan = planOf(def.tasks[0]!, def.folder, def.profiles, { mountRoot: def.mountRoot });
  const up = bringUp(
    plan,
    {
      line: (text) => {
        // `app     …` is said once the app is spawned and recorded (ms, while python is still starting).
        if (text.startsWith('app ')) before = w.proxy.bytesDown();
      },
    },
    { registry, signal: stop.signal },
  );
  up.catch((e: unknown) => (failure = String(e)));
  try {
    const ms = await firstAnswer(d.url, t0, () => failure);
    return { ms, fromLink: (w.proxy.bytesDown() - before!) / MODEL_BYTES };
  } finally {
    await up.catch(() => undefined);
    await stopApps(d);
    await registry.unmount(d.mp).catch((e: unknown) => console.error(`unmount: ${String(e)}`));
    registry.dispose();
  }
}

async function stopApps(d: RunDir): Promise<void> {
  for (const app of await findApps(d.state)) await stopApp(app, d.state);
}

const load = () => loadavg()[0]!.toFixed(1);

async function bench(box: Box, proxy: Proxy): Promise<void> {
  const started = performance.now();
  const objects: Record<string, string> = { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'the current weights' };
  objects[`${MODEL}/.keep`] = ''; // s3rver lists a prefix one level deep: every top-level folder has a marker
  for (let i = 0; i < FILES; i++) objects[`${MODEL}/model-${i}.pth`] = String(i).repeat(FILE_MB << 20);
  await putObjects(box, BUCKET, objects);
  const config = join(box.dir, 'link.conf');
  writeFileSync(config, s3Remote('s3', proxy.endpoint), { mode: 0o600 });
  const rclone = await Rclone.locate({ configFile: config });
  const w: World = { box, proxy, config, rclone, cliEnv: cliEnv(box, box.dir, { RCLONE_CONFIG: config }) };
  // The CLI as on a box it ran on before: the rclone version cached (cli.bench.ts times a first run).
  await execa(CLI, ['--version'], { env: w.cliEnv, extendEnv: false });

  const load0 = load();
  const r = { seed: [] as Run[], cli: [] as Run[], task: [] as Run[] };
  const ways = { seed: seedWay, cli: cliWay, task: taskWay };
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so a noisy moment on the box hits every way.
    for (const name of ['seed', 'cli', 'task'] as const) {
      const d = await runDir(box.dir, `${name}-${i}`);
      try {
        r[name].push(await ways[name](w, d));
      } finally {
        await stopApps(d); // only after a failure is anything left: an app, a mount, an rclone
        await endMountsUnder([d.dir]);
        rmSync(d.dir, { recursive: true, force: true });
      }
    }
  }

  const ms = (runs: Run[]) => runs.map((x) => x.ms);
  const fromLinks = (runs: Run[]) => runs.map((x) => x.fromLink);
  const link = (runs: Run[]) => median(fromLinks(runs));
  const row = (name: string, runs: Run[]) =>
    console.log(
      `${name.padEnd(66)} ${median(ms(runs)).toFixed(0).padStart(6)} ms ${link(runs).toFixed(3).padStart(9)}`,
    );
  console.log(
    `\nBring-up to the app's first HTTP answer, ${LINK_MS} ms per request, ${FILES} x ${FILE_MB} MB model, ` +
      `WEBUI_START_DELAY=${START_DELAY}, median of ${RUNS} (${cpus().length} cores, rclone ${rclone.version.text}, node ${process.version})`,
  );
  console.log(`${''.padEnd(66)} ${'time'.padStart(9)}  link bytes / model bytes in the app's load`);
  row('seed: rclone mount --daemon; sleep 5; ln -sf; python3 webui.py', r.seed);
  row('ours, CLI: rclone-devbox up (mount, content prewarm, link, app)', r.cli);
  row("ours, task: bringUp in-process (the editor's task, no terminal)", r.task);
  const steps = r.cli.at(-1)?.steps;
  console.log(`ours' steps (the last CLI run): ${steps}\nload ${load0} at the start, ${load()} at the end`);

  const target: Target = { op: '>=', value: 1, note: 'ours includes a content prewarm, the seed none' };
  const why = (ours: Run[]) => () =>
    `seed ${median(ms(r.seed)).toFixed(0)} ms (5,000 ms of it sleep 5) vs ours ${median(ms(ours)).toFixed(0)} ms; ` +
    `the app takes ${START_DELAY} s in both; ours' steps (the last CLI run): ${steps}`;
  const fromLink: Target = { op: '<=', value: 0.05, note: "smaller is better: link / model bytes in the app's load" };
  saveResults(
    {
      bringup_vs_seed: explain(speedup(ms(r.seed), ms(r.cli), target), why(r.cli)),
      bringup_task_vs_seed: explain(speedup(ms(r.seed), ms(r.task), target), why(r.task)),
      first_read_from_link: explain(figure(fromLinks(r.cli), fromLink), () => {
        const mb = (link(r.cli) * MODEL_BYTES) / 2 ** 20;
        return `the app read ${mb.toFixed(1)} MB over the link after the content prewarm; steps: ${steps}`;
      }),
    },
    rclone.version.text,
  );
  console.log(`\nbringup bench: ${((performance.now() - started) / 1000).toFixed(1)} s (load ${load()})`);
}

benchOnBox(interrupts, [BUCKET], async (box, proxy) => {
  const body = bench(box, proxy);
  // Ctrl-C: the way that runs ends its app and unmounts; then Interrupts ends the rest and exits 130.
  interrupts.beforeKill(() => (stop.abort(), body.then(ignore, ignore)));
  try {
    await body;
  } catch (e) {
    if (!stop.signal.aborted) throw e;
    await new Promise(ignore); // Interrupts exits once it has cleaned up
  }
});

function ignore(): void {}
