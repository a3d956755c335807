// `rclone-devbox up` as a boot script or a container runs it: a folder with .vscode/settings.json
// (a mount profile) and .vscode/tasks.json (an rclone-devbox task), a real S3 server, real FUSE,
// and the real webui.py stand-in (test/fixtures/webui.py), which reads ./cache_hub through the
// link and then serves HTTP on loopback. Every app, mount and temp dir is ended in after/afterEach.
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { findApps, stopApp } from '../../src/core/app';
import { ExpiryStore, STOP_BEFORE_MS } from '../../src/core/expiry';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { freePort, processAlive } from '../../src/core/processes';
import { CLI, cli, cliEnv } from '../helpers/cli';
import { fetchText } from '../helpers/http';
import { type Box, putObjects, ROOT, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';

const BUCKET = 'index-tts-data';

describe('rclone-devbox up', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  let running: ResultPromise | undefined;
  before(async () => {
    box = await startBox([BUCKET]);
    await putObjects(box, BUCKET, {
      'cache_hub/.keep': '',
      'cache_hub/gpt.pth': 'old weights',
      'cache_hub_v23/.keep': '',
      'cache_hub_v23/gpt.pth': 'G'.repeat(64 * 1024),
      'cache_hub_v23/tokenizer.json': '{}',
    });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    running?.kill('SIGKILL');
    await running?.catch(() => undefined);
    running = undefined;
    if (work) {
      const stateDir = join(work.path, 'state', 'rclone-devbox');
      for (const app of await findApps(stateDir)) await stopApp(app, stateDir);
      await cleanUp([work.path]);
      work.dispose();
    }
  });

  /** A folder laid out like IndexTTS2's with its settings and one task; returns its paths and the app's URL. */
  async function folder(task: Record<string, unknown> = {}) {
    work = tempDir('rdb-cliup-');
    const ws = join(work.path, 'ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    copyFileSync(join(ROOT, 'test/fixtures/webui.py'), join(ws, 'webui.py'));
    const mountPoint = join(work.path, 'mnt', BUCKET);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    writeFileSync(
      join(ws, '.vscode', 'settings.json'),
      `{
  // as VS Code writes it: comments and a trailing comma
  "rclone.mounts": [
    { "remote": "s3:${BUCKET}", "mountPoint": "${mountPoint}", "cacheMode": "full", "cacheDir": "${join(work.path, 'vfs')}" },
  ],
}\n`,
    );
    const def = {
      type: 'rclone-devbox',
      label: 'webui',
      mount: `s3:${BUCKET}`,
      link: { cache_hub: 'cache_hub_v23' },
      prewarm: ['cache_hub'],
      prewarmContent: true,
      command: ['python', 'webui.py', '--listen', '--port', String(port)],
      readyUrl: url,
      env: { WEBUI_START_DELAY: '0.5' },
      ...task,
    };
    writeFileSync(join(ws, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [def] }, null, 2));
    return {
      ws,
      mountPoint,
      port,
      url,
      env: cliEnv(box, work.path),
      stateDir: join(work.path, 'state', 'rclone-devbox'),
    };
  }

  const mounted = async (dir: string) => (await readRcloneMounts()).some((e) => e.mountPoint === dir);

  /** `up` in the background, as a container's main process; resolves once it says ready. */
  async function upRunning(f: { ws: string; env: Record<string, string> }) {
    const child = execa(process.execPath, [CLI, 'up'], {
      env: f.env,
      extendEnv: false,
      cwd: f.ws,
      reject: false,
      stdin: 'ignore',
    });
    const run = { child, out: '' };
    child.stdout!.on('data', (c: Buffer) => (run.out += c.toString()));
    await waitFor(() => run.out.includes('rclone-devbox: ready at') || child.exitCode !== null, 60_000);
    return run;
  }

  it('--no-app: mounts, warms and links, says one line per step, and returns 0 (systemd ExecStart)', async () => {
    const f = await folder();
    const r = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^rclone-devbox: bringing up "webui" in ${f.ws}$`));
    assert.match(
      lines[1]!,
      new RegExp(`^mount   s3:${BUCKET} on ${f.mountPoint} \\(rclone pid \\d+, ready in [\\d.]+ s\\)$`),
    );
    assert.match(lines[2]!, /^warm {4}cache_hub_v23: listed in [\d.]+ s; the mount knows \d+ folders and files$/);
    assert.match(lines[3]!, /^warm {4}content: 64 KB read, 0 B already cached/);
    assert.equal(lines[4], `link    ./cache_hub → ${join(f.mountPoint, 'cache_hub_v23')}`);
    assert.match(lines[5]!, /^rclone-devbox: ready: storage is up \([\d.]+ s\)$/);
    assert.equal(r.stderr, '', 'no progress lines when stderr is not a terminal');
    assert.ok(await mounted(f.mountPoint));
    assert.equal(readlinkSync(join(f.ws, 'cache_hub')), join(f.mountPoint, 'cache_hub_v23'));
    assert.deepEqual(await findApps(f.stateDir), [], 'no app');
    // Again: everything is already there; nothing is mounted twice.
    const again = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /\(already mounted, rclone pid \d+\)/);
    assert.match(again.stdout, /→ .*cache_hub_v23 \(already\)/);
  });

  it('starts the app once storage is ready, passes its output on, and on SIGTERM ends it and leaves the mount up', async () => {
    const f = await folder();
    const up = await upRunning(f);
    running = up.child;
    const { out } = up;
    assert.match(out, new RegExp(`rclone-devbox: ready at ${f.url} \\([\\d.]+ s\\)`));
    assert.match(out, /Running on http:\/\/127\.0\.0\.1:\d+/, "the app's own output is passed on");
    assert.match(out, /loaded 3 files, 65538 bytes from cache_hub/, 'the app read the model through the link');
    assert.match((await fetchText(f.url)) ?? '', /gpt\.pth/);
    const [app] = await findApps(f.stateDir);
    assert.ok(app?.listening, 'the app is recorded and listening');
    running.kill('SIGTERM');
    const r = await running;
    running = undefined;
    assert.equal(r.exitCode, 143);
    assert.match(String(r.stdout), /rclone-devbox: app stopped; the mount on .* stays/);
    assert.equal(processAlive(app.pid), false, 'the app ended');
    assert.ok(await mounted(f.mountPoint), 'the mount stays');
  });

  it('a session token that expires: the mount is stopped 2 minutes before, its upload done; the app keeps running', async () => {
    const f = await folder();
    // The time given in Edit Remote (or `setup`) for the remote's session token: 2 min 10 s from now.
    const expires = new Date(Date.now() + STOP_BEFORE_MS + 10_000);
    await new ExpiryStore(join(f.stateDir, 'expiry')).set(f.env.RCLONE_CONFIG!, 's3', expires);
    const up = await upRunning(f);
    running = up.child;
    assert.match(up.out, new RegExp(`rclone-devbox: ready at ${f.url}`));
    // Written through the mount before the stop: uploaded before it.
    writeFileSync(join(f.mountPoint, 'take 1.wav'), 'RIFF written before the stop');
    await waitFor(() => up.out.includes('expire at'), 30_000);
    assert.ok(Date.now() < expires.getTime() - 60_000, 'stopped well before the expiry');
    assert.match(
      up.out,
      new RegExp(
        `rclone-devbox: the session credentials of s3 expire at .+: ${f.mountPoint} is unmounted, its uploads done`,
      ),
    );
    assert.match(up.out, /the app keeps running without it; renew the credentials/);
    assert.equal(await mounted(f.mountPoint), false, 'the mount is gone');
    const uploaded = await box.rclone.run(['cat', '--', `s3:${BUCKET}/take 1.wav`], { timeoutMs: 30_000 });
    assert.equal(uploaded, 'RIFF written before the stop');
    assert.match((await fetchText(f.url)) ?? '', /gpt\.pth/, 'the app still answers');
    assert.equal(running.exitCode, null, '`up` stays in the foreground with the app');
    running.kill('SIGTERM');
    const r = await running;
    running = undefined;
    assert.equal(r.exitCode, 143);
    assert.match(
      String(r.stdout),
      /rclone-devbox: app stopped; the mount was stopped before its credentials expired$/m,
    );
  });

  it('finds an app that already runs and does not start a second copy; leaves it running on exit', async () => {
    const f = await folder();
    running = (await upRunning(f)).child;
    const [first] = await findApps(f.stateDir);
    const { child: second, out: out2 } = await upRunning(f);
    assert.match(out2, new RegExp(`app {5}already running \\(pid ${first!.pid}, ${f.url}\\): not started again`));
    second.kill('SIGTERM');
    const r2 = await second;
    assert.match(String(r2.stdout), /left the app running \(pid \d+\): this run did not start it/);
    assert.deepEqual(
      (await findApps(f.stateDir)).map((a) => a.pid),
      [first!.pid],
    );
  });

  it('two bring-ups of the same folder at once (two windows, a window and the CLI): one app, the other finds it', async () => {
    const f = await folder();
    const both = await Promise.all([upRunning(f), upRunning(f)]);
    running = both[0].child;
    const apps = await findApps(f.stateDir);
    assert.equal(apps.length, 1, `one app: ${JSON.stringify(apps.map((a) => a.pid))}`);
    for (const b of both) assert.match(b.out, /rclone-devbox: ready at /, b.out);
    assert.equal(both.filter((b) => /already running \(pid \d+/.test(b.out)).length, 1, 'one found the other');
    both[1].child.kill('SIGTERM');
    await both[1].child;
  });

  it('a taken port fails before anything is mounted, naming the process, exit 1', async () => {
    const f = await folder();
    const holder = createServer();
    await new Promise<void>((ok) => holder.listen(f.port, '127.0.0.1', ok));
    try {
      const r = await cli(['up'], f.env, 60_000, f.ws);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`Port ${f.port} is already in use by node \\(pid ${process.pid}`));
      assert.equal(await mounted(f.mountPoint), false, 'nothing was mounted');
    } finally {
      holder.close();
    }
  });

  it('an app that exits before it is ready: its own error is shown, exit 1, the mount stays', async () => {
    const f = await folder({ command: ['python', 'webui.py', '--model_dir', 'no_such_dir'] });
    const r = await cli(['up'], f.env, 60_000, f.ws);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /no_such_dir\/ not found/, "the app's output");
    assert.match(r.stderr, /The app exited with code 2 before it was ready/);
    assert.ok(await mounted(f.mountPoint));
  });

  it("the README's systemd unit: systemd-analyze accepts it, its ExecStart brings storage up, its ExecStop unmounts", async (t) => {
    const f = await folder();
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const unit = /```ini\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### Bring the box up')))?.[1];
    assert.ok(unit?.includes('ExecStart='), 'the README has the unit');
    // As installed on this box: the command is dist/cli.js, the folder and the mount point are the test's.
    const here = unit!
      .replaceAll('/usr/local/bin/rclone-devbox', CLI)
      .replace(/^WorkingDirectory=.*$/m, `WorkingDirectory=${f.ws}`)
      .replace(/^User=.*$/m, `User=${userInfo().username}`)
      .replaceAll('/mnt/index-tts-storage', f.mountPoint);
    const line = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(here)![1]!.split(/\s+/);
    const file = join(work!.path, 'rclone-devbox.service');
    writeFileSync(file, here);
    const verify = await execa('systemd-analyze', ['verify', file], { reject: false, stdin: 'ignore' });
    if (verify.failed && (verify as { code?: string }).code === 'ENOENT')
      t.diagnostic('systemd-analyze is not installed: the unit was not verified');
    else assert.deepEqual([verify.exitCode, String(verify.stderr)], [0, ''], 'systemd-analyze verify');
    const [start, ...startArgs] = line('ExecStart');
    const up = await execa(start!, startArgs, {
      cwd: f.ws,
      env: f.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    assert.equal(up.exitCode, 0, String(up.stderr));
    assert.ok(await mounted(f.mountPoint));
    assert.deepEqual(await findApps(f.stateDir), [], '--no-app starts no app');
    const [stop, ...stopArgs] = line('ExecStop');
    const down = await execa(stop!, stopArgs, {
      cwd: f.ws,
      env: f.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    assert.equal(down.exitCode, 0, String(down.stderr));
    assert.equal(await mounted(f.mountPoint), false);
  });

  it('--task names a task that is not there: the tasks found are listed, nothing runs', async () => {
    const f = await folder();
    const r = await cli(['up', '--task', 'nope'], f.env, 30_000, f.ws);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No rclone-devbox task is labelled "nope"/);
    assert.match(r.stderr, /Tasks found: webui/);
    assert.equal(await mounted(f.mountPoint), false);
  });
});
