// Copy mode end to end through `rclone-devbox up`, on a box without FUSE: the preflight is pointed
// at a device that does not exist (RCLONE_DEVBOX_FUSE_DEVICE, which only our checks read), so
// "auto" decides to copy; nothing may be mounted. The real S3 server, behind the fault proxy for
// the copy that is killed; the real webui.py stand-in reads ./cache_hub from the local copy.
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { findApps, stopApp } from '../../src/core/app';
import { partialOf } from '../../src/core/localCopy';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { freePort } from '../../src/core/processes';
import { CLI, cli, cliEnv } from '../helpers/cli';
import { fetchText } from '../helpers/http';
import { type Box, putObjects, ROOT, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { waitFor } from '../helpers/mounts';
import { rclonePidsWhere } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';

const BUCKET = 'index-tts-data';
const MB = 1024 * 1024;

describe('copy mode: rclone-devbox up on a box without FUSE', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  let proxy: Proxy | undefined;
  let running: ResultPromise | undefined;

  before(async () => {
    box = await startBox([BUCKET]);
    await putObjects(box, BUCKET, {
      'cache_hub_v23/gpt.pth': 'G'.repeat(64 * 1024),
      'cache_hub_v23/tokenizer.json': '{}',
      ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`cache_hub_v24/part-${i}.bin`, String(i).repeat(MB)])),
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
      for (const pid of rclonePidsWhere((argv) => argv.some((a) => a.includes(work!.path))))
        process.kill(pid, 'SIGKILL');
      work.dispose();
    }
    await proxy?.stop();
    work = proxy = undefined;
  });

  /** A workspace whose profile has `mode`, its task linking `link`; the CLI's env without FUSE. */
  async function folder(mode: string, link: Record<string, string>, viaProxy = false) {
    work = tempDir('rdb-copymode-');
    const ws = join(work.path, 'ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    copyFileSync(join(ROOT, 'test/fixtures/webui.py'), join(ws, 'webui.py'));
    const remote = viaProxy ? 'via' : 's3';
    let configFile = box.configFile;
    if (viaProxy) {
      proxy = await startProxy(box.s3.port, 40);
      configFile = join(work.path, 'rclone.conf');
      writeFileSync(configFile, s3Remote('via', proxy.endpoint), { mode: 0o600 });
    }
    const mountPoint = join(work.path, 'mnt');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    writeFileSync(
      join(ws, '.vscode', 'settings.json'),
      JSON.stringify({ 'rclone.mounts': [{ remote: `${remote}:${BUCKET}`, mountPoint, mode }] }),
    );
    const task = {
      type: 'rclone-devbox',
      label: 'webui',
      mount: `${remote}:${BUCKET}`,
      link,
      command: ['python', 'webui.py', '--port', String(port)],
      readyUrl: url,
      env: { WEBUI_START_DELAY: '0.2' },
    };
    writeFileSync(join(ws, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [task] }));
    const env = cliEnv(box, work.path, {
      RCLONE_CONFIG: configFile,
      RCLONE_DEVBOX_FUSE_DEVICE: join(work.path, 'no-such-fuse-device'),
    });
    const root = join(ws, '.rclone-devbox', remote, BUCKET);
    return { ws, env, url, root, mountPoint };
  }

  const nothingMountedUnder = async (dir: string) =>
    !(await readRcloneMounts()).some((m) => m.mountPoint.startsWith(dir));

  it('"auto" without FUSE copies the linked version, says why, links it, and mounts nothing', async () => {
    const f = await folder('auto', { cache_hub: 'cache_hub_v23' });
    const r = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(
      lines[1]!,
      new RegExp(
        `^storage local copies in ${f.root}: FUSE is not available: .*no-such-fuse-device does not exist\\. \\(mode "auto"\\)$`,
      ),
    );
    assert.match(
      lines[2]!,
      new RegExp(`^copy {4}s3:${BUCKET}/cache_hub_v23 → ${f.root}/cache_hub_v23 \\(64 KB in [\\d.]+ s\\)$`),
    );
    assert.equal(lines[3], `link    ./cache_hub → ${f.root}/cache_hub_v23`);
    assert.match(lines[4]!, /^rclone-devbox: ready: storage is up/);
    assert.equal(readlinkSync(join(f.ws, 'cache_hub')), join(f.root, 'cache_hub_v23'));
    assert.equal(readFileSync(join(f.ws, 'cache_hub', 'gpt.pth'), 'utf8'), 'G'.repeat(64 * 1024));
    assert.equal(readFileSync(join(f.ws, '.rclone-devbox', '.gitignore'), 'utf8').split('\n')[1], '*');
    assert.ok(await nothingMountedUnder(work!.path));
    const again = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`copy {4}${f.root}/cache_hub_v23 \\(already here, 64 KB\\)`));
    assert.match(again.stdout, /→ .*cache_hub_v23 \(already\)/);
  });

  it('the app runs on the local copy; its outputs are uploaded when it is stopped', async () => {
    const f = await folder('copy', { cache_hub: 'cache_hub_v23', outputs: 'outputs/box-1' });
    const child = execa(process.execPath, [CLI, 'up'], { env: f.env, extendEnv: false, cwd: f.ws, reject: false });
    running = child;
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(() => out.includes('rclone-devbox: ready at') || child.exitCode !== null, 60_000);
    assert.match(out, /storage local copies in .* \(mode "copy"\)/);
    assert.match(
      out,
      new RegExp(`copy {4}./outputs: written to ${f.root}/outputs/box-1, uploaded to s3:${BUCKET}/outputs/box-1`),
    );
    assert.match(out, /loaded 2 files, 65538 bytes from cache_hub/, 'the app read the local copy');
    assert.match((await fetchText(f.url)) ?? '', /gpt\.pth/);
    writeFileSync(join(f.ws, 'outputs', 'take 1.wav'), 'RIFF take one'); // through the link
    child.kill('SIGTERM');
    const r = await child;
    assert.equal(r.exitCode, 143);
    assert.match(out, /rclone-devbox: app stopped; the local copies stay/);
    assert.match(out, /rclone-devbox: uploaded 1 output file/);
    const uploaded = await box.rclone.run(['cat', '--', `s3:${BUCKET}/outputs/box-1/take 1.wav`], {
      timeoutMs: 30_000,
    });
    assert.equal(uploaded, 'RIFF take one');
    assert.ok(await nothingMountedUnder(work!.path));
  });

  it('a copy killed with SIGKILL (the CLI and its rclone) never shows a partial folder, and the next up continues it', async () => {
    const f = await folder('copy', { cache_hub: 'cache_hub_v24' }, true);
    const child = execa(process.execPath, [CLI, 'up', '--no-app'], {
      env: f.env,
      extendEnv: false,
      cwd: f.ws,
      reject: false,
    });
    running = child;
    const partial = partialOf(join(f.root, 'cache_hub_v24'));
    // Cut once two files are whole (four at a time arrive side by side behind the slow proxy).
    const whole = () =>
      Array.from({ length: 8 }, (_, i) => join(partial, `part-${i}.bin`)).filter(
        (p) => existsSync(p) && statSync(p).size === MB,
      ).length;
    await waitFor(() => whole() >= 2, 60_000);
    assert.equal(rclonePidsWhere((argv) => argv.includes(partial)).length, 1);
    child.kill('SIGKILL');
    await child;
    // Its rclone, orphaned, dies at its next progress line (stderr is a pipe nobody reads any more).
    await waitFor(() => rclonePidsWhere((argv) => argv.includes(partial)).length === 0, 5_000);
    assert.equal(existsSync(join(f.root, 'cache_hub_v24')), false, 'nothing under the final name');
    assert.equal(existsSync(join(f.ws, 'cache_hub')), false, 'no link to a partial copy');
    const before = proxy!.bytesDown();
    proxy!.setDelay(0);
    const r = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(r.code, 0, r.stderr);
    const fetched = proxy!.bytesDown() - before;
    assert.ok(fetched < 7 * MB, `continued: ${fetched} of ${8 * MB} bytes fetched again`);
    for (let i = 0; i < 8; i++)
      assert.equal(readFileSync(join(f.ws, 'cache_hub', `part-${i}.bin`), 'utf8'), String(i).repeat(MB));
    assert.equal(existsSync(partial), false);
  });
});
