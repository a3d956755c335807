// The user's app, for real: test/fixtures/webui.py (IndexTTS2's stand-in) started by real python3
// on real ports, found again, and stopped with its whole process tree, checked in /proc.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  type AppSpec,
  appEnv,
  checkPortFree,
  findApps,
  followOutput,
  portHolder,
  resolveCommand,
  startApp,
  stopApp,
  waitAppReady,
} from '../../src/core/app';
import { type ErrorKind, isRcloneError, type RcloneError } from '../../src/core/errors';
import { freePort, processState } from '../../src/core/processes';
import { ROOT, tempDir } from '../helpers/fixtures';

/** The real interpreter (not pyenv's shim script), so that .venv/bin/python can be a link to it. */
const PYTHON =
  process.env.PYTHON ??
  execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

const isKind =
  (kind: ErrorKind, message?: RegExp) =>
  (e: unknown): e is RcloneError => {
    assert.ok(isRcloneError(e), String(e));
    assert.equal(e.kind, kind, e.message);
    if (message) assert.match(e.message, message);
    assert.ok(kind === 'Cancelled' || e.fix.length > 10, 'a fix is suggested');
    return true;
  };
const gone = (pid: number) => [undefined, 'Z'].includes(processState(pid));
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const killGroup = (pgid: number) => {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ended already
  }
};

/** A workspace with webui.py and a small cache_hub; removed after the test. */
function workspace(t: TestContext, models = true): { cwd: string; stateDir: string } {
  const dir = tempDir('rdb-app-');
  t.after(() => dir.dispose());
  const cwd = join(dir.path, 'work space');
  mkdirSync(cwd);
  copyFileSync(join(ROOT, 'test/fixtures/webui.py'), join(cwd, 'webui.py'));
  if (models) {
    mkdirSync(join(cwd, 'cache_hub/models'), { recursive: true });
    writeFileSync(join(cwd, 'cache_hub/config.yaml'), 'version: "2.0"\n');
    writeFileSync(join(cwd, 'cache_hub/models/gpt.pth'), Buffer.alloc(100_000, 1));
  }
  return { cwd, stateDir: join(dir.path, 'state') };
}

const webui = (cwd: string, port: number, more: Partial<AppSpec> = {}): AppSpec => ({
  command: ['python', 'webui.py', '--listen', '--port', String(port)],
  cwd,
  python: PYTHON,
  readyUrl: `http://127.0.0.1:${port}/`,
  env: { WEBUI_START_DELAY: '0.5' },
  ...more,
});

/** startApp, with the app and its tree stopped after the test whatever happens. */
async function start(t: TestContext, spec: AppSpec, stateDir: string) {
  const app = await startApp(spec, { stateDir });
  t.after(async () => {
    try {
      await stopApp(app.record, stateDir, 1_000);
    } finally {
      killGroup(app.record.pid); // should stopApp itself be broken: no app outlives its test
    }
  });
  return app;
}

describe('app', () => {
  it('starts detached, is ready when its URL answers, and stop ends its whole tree', async (t) => {
    const { cwd, stateDir } = workspace(t);
    const port = await freePort();
    const app = await start(t, webui(cwd, port, { command: [...webui(cwd, port).command, '--spawn-child'] }), stateDir);
    const { ms } = await waitAppReady(app.record, webui(cwd, port), { exited: app.exited });
    assert.ok(ms >= 400 && ms < 5_000, `ready after ${ms} ms`);
    assert.match(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /models: config\.yaml, models\/gpt\.pth/);
    const session = readFileSync(`/proc/${app.record.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[3];
    assert.equal(session, String(app.record.pid), 'its own session');
    const log = readFileSync(app.record.logFile, 'utf8');
    assert.match(log, /loaded 2 files, 100015 bytes from cache_hub/);
    const child = Number(/started child (\d+)/.exec(log)?.[1]);
    t.after(() => killGroup(child)); // its own group: should stopApp miss it, it still goes
    assert.ok(!gone(child), 'the child runs');
    await stopApp(app.record, stateDir, 2_000);
    assert.ok(gone(app.record.pid) && gone(child), 'the app and its child (in a session of its own) ended');
    assert.equal(await app.exited, 0, 'SIGTERM: a normal end');
    assert.ok(!existsSync(app.record.logFile.replace(/\.log$/, '.json')), 'the record is gone');
    assert.ok(existsSync(app.record.logFile), 'the log stays');
  });

  it('is ready on a line matching readyPattern; followOutput passes colours on as written', async (t) => {
    const { cwd, stateDir } = workspace(t);
    const port = await freePort();
    const spec = webui(cwd, port, { readyUrl: undefined, readyPattern: '^Running on http://' });
    const app = await start(t, spec, stateDir);
    const follow = new AbortController();
    let text = '';
    const following = followOutput(app.record.logFile, (s) => (text += s), { signal: follow.signal });
    await waitAppReady(app.record, spec, { exited: app.exited });
    follow.abort();
    await following;
    assert.equal(app.record.port, port, 'the port from --port');
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200, 'the line came once the port answered');
    assert.ok(text.includes('\x1b[1;32m* IndexTTS2 stand-in ready\x1b[0m\n'), JSON.stringify(text));
  });

  it('followOutput passes a UTF-8 character split between two reads on whole', async (t) => {
    const { stateDir } = workspace(t, false);
    const file = join(stateDir, 'out.log');
    mkdirSync(stateDir);
    const bytes = Buffer.from('模型加载中…\n');
    writeFileSync(file, bytes.subarray(0, 4)); // 模 and the first byte of 型
    const chunks: string[] = [];
    const stop = new AbortController();
    const following = followOutput(file, (s) => chunks.push(s), { signal: stop.signal });
    while (!chunks.length) await sleep(20);
    appendFileSync(file, bytes.subarray(4));
    await sleep(250);
    stop.abort();
    await following;
    assert.deepEqual(chunks, ['模', '型加载中…\n']);
  });

  it('fails with the last lines when the app exits before it is ready', async (t) => {
    const { cwd, stateDir } = workspace(t, false); // no cache_hub
    const port = await freePort();
    const app = await start(t, webui(cwd, port), stateDir);
    await assert.rejects(
      waitAppReady(app.record, webui(cwd, port), { exited: app.exited }),
      (e) => isKind('AppFailed', /exited with code 2 before/)(e) && /cache_hub\/ not found in/.test(e.detail),
    );
    // Another window, without the exit code: the process is gone all the same.
    await assert.rejects(waitAppReady(app.record, webui(cwd, port)), isKind('AppFailed', /^The app exited before/));
  });

  it('stopApp after the app died ends what it left in its process group', async (t) => {
    const { cwd, stateDir } = workspace(t);
    // Starts a child in its own process group's session (no setsid), then exits at once.
    const code =
      'import subprocess, sys; subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]); sys.exit(3)';
    const app = await start(
      t,
      { command: ['python', '-c', code], cwd, python: PYTHON, readyPattern: 'never' },
      stateDir,
    );
    await assert.rejects(
      waitAppReady(app.record, { readyPattern: 'never' }, { exited: app.exited }),
      isKind('AppFailed'),
    );
    const groupOf = (pid: string) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[2]);
      } catch {
        return undefined; // ended meanwhile
      }
    };
    const orphans = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n) && groupOf(n) === app.record.pid)
      .map(Number);
    assert.equal(orphans.length, 1, 'the child outlived the app, in its process group');
    await stopApp(app.record, stateDir);
    assert.ok(gone(orphans[0]!), 'the child was ended');
  });

  it('obeys its bound, leaves the app running (not listening yet), and cancels', async (t) => {
    const { cwd, stateDir } = workspace(t);
    const port = await freePort();
    const spec = webui(cwd, port, { env: { WEBUI_START_DELAY: '30' }, readyTimeoutMs: 700 });
    const app = await start(t, spec, stateDir);
    const started = Date.now();
    await assert.rejects(waitAppReady(app.record, spec), isKind('Timeout', /did not answer at .* within 0\.7s/));
    assert.ok(Date.now() - started < 2_000, `${Date.now() - started} ms`);
    const [found] = await findApps(stateDir);
    assert.equal(found?.pid, app.record.pid);
    assert.equal(found.listening, false);
    await assert.rejects(waitAppReady(app.record, spec, { signal: AbortSignal.timeout(100) }), isKind('Cancelled'));
  });

  it('refuses a port in use, naming who holds it', async (t) => {
    const { cwd, stateDir } = workspace(t);
    const server = createServer();
    const port = await freePort();
    await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
    t.after(() => server.close());
    const started = Date.now();
    const holder = await portHolder(port);
    const ms = Date.now() - started;
    assert.equal(holder?.pid, process.pid);
    assert.ok(ms < 500, `portHolder took ${ms} ms`);
    const who = new RegExp(`^Port ${port} is already in use by ${holder.name} \\(pid ${process.pid}: .*node`);
    await assert.rejects(checkPortFree(port), isKind('PortInUse', who));
    await assert.rejects(startApp(webui(cwd, port), { stateDir }), isKind('PortInUse'));
    assert.equal(existsSync(join(stateDir, 'apps')), false, 'nothing started');
    assert.equal(await portHolder(await freePort()), undefined);
  });

  it('names what is missing: script, interpreter, python3 on PATH; prefers .venv; cancels before spawn', async (t) => {
    const { cwd, stateDir } = workspace(t);
    const empty = join(stateDir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const spec = webui(cwd, 1);
    await assert.rejects(
      resolveCommand({ ...spec, command: ['python', 'app.py'] }),
      isKind('AppMissing', /^app\.py was not found in .*work space\.$/),
    );
    await assert.rejects(
      resolveCommand({ ...spec, python: '/nonexistent/python' }),
      isKind('AppMissing', /nonexistent/),
    );
    const noPython = `Python was not found: no .venv/bin/python in ${cwd}, no python3 on PATH.`;
    await assert.rejects(
      resolveCommand({ ...spec, python: undefined }, { PATH: empty }),
      (e) => isKind('AppMissing')(e) && e.message === noPython,
    );
    // A python3 on PATH that would fail: the .venv's interpreter is the one that runs.
    writeFileSync(join(empty, 'python3'), '#!/bin/sh\nexit 7\n', { mode: 0o755 });
    mkdirSync(join(cwd, '.venv/bin'), { recursive: true });
    symlinkSync(PYTHON, join(cwd, '.venv/bin/python'));
    const port = await freePort();
    const venv = webui(cwd, port, { python: undefined, env: { WEBUI_START_DELAY: '0', PATH: empty } });
    assert.equal((await resolveCommand(venv)).file, join(cwd, '.venv/bin/python'));
    const app = await start(t, venv, stateDir);
    await waitAppReady(app.record, venv, { exited: app.exited });
    const aborted = AbortSignal.abort();
    await assert.rejects(startApp({ ...venv, label: 'x' }, { stateDir, signal: aborted }), isKind('Cancelled'));
  });

  it('appEnv drops the editor and rclone variables, keeps the rest, adds unbuffered colour output', () => {
    const env = appEnv(
      {
        PATH: '/usr/bin',
        HOME: '/root',
        AWS_PROFILE: 'x',
        RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: 'k',
        RCLONE_RC_PASS: 'p',
        ELECTRON_RUN_AS_NODE: '1',
        VSCODE_IPC_HOOK_CLI: '/tmp/s',
      },
      { WEBUI_START_DELAY: '1', FORCE_COLOR: '0' },
    );
    assert.deepEqual(env, {
      PATH: '/usr/bin',
      HOME: '/root',
      AWS_PROFILE: 'x',
      PYTHONUNBUFFERED: '1',
      FORCE_COLOR: '0', // the task's own word wins
      PY_COLORS: '1',
      CLICOLOR_FORCE: '1',
      WEBUI_START_DELAY: '1',
    });
  });

  it('findApps finds an app another window started, and forgets one that died', async (t) => {
    const { cwd, stateDir } = workspace(t);
    const port = await freePort();
    const spec = webui(cwd, port, { label: 'webui', env: { WEBUI_START_DELAY: '0' } });
    const app = await start(t, spec, stateDir);
    await waitAppReady(app.record, spec, { exited: app.exited });
    writeFileSync(join(stateDir, 'apps/partial.json'), '{"pid": 12'); // not a record: skipped, left alone
    const [found, ...more] = await findApps(stateDir, cwd);
    assert.deepEqual({ ...found, listening: undefined }, { ...app.record, listening: undefined });
    assert.equal(found?.listening, true);
    assert.deepEqual(more, []);
    assert.deepEqual(await findApps(stateDir, '/elsewhere'), []);
    process.kill(app.record.pid, 'SIGKILL');
    // Polled, not `await app.exited`: the child is unref'd, and a promise alone keeps no test alive.
    while (!gone(app.record.pid)) await sleep(20);
    assert.deepEqual(await findApps(stateDir), []);
    assert.deepEqual(
      readdirSync(join(stateDir, 'apps')).sort(),
      [basename(app.record.logFile), 'partial.json'].sort(),
      'the dead record is gone',
    );
  });
});
