// The process running our code dies in the middle of an operation, as an extension host does when
// it is killed or its window reloads: a mount, a relink and a bring-up are run in a child Node
// process (core's own code, bundled) that is killed with SIGKILL part-way. The next process to look
// must find a consistent state: no recorded mount that does not exist, no rclone of ours without
// its record (and rc), no half-made link, no second copy of the app.
import assert from 'node:assert/strict';
import { execa, type ResultPromise } from 'execa';
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { findApps, stopApp } from '../../src/core/app';
import { relink } from '../../src/core/link';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { MountRegistry } from '../../src/core/mounts';
import { freePort } from '../../src/core/processes';
import { Rclone } from '../../src/core/rclone';
import { bundleSnippet } from '../helpers/child';
import { type Box, putObjects, ROOT, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';
import { rclonePidsWhere } from '../helpers/procs';
import { type Proxy, startProxy } from '../helpers/proxy';

const BUCKET = 'killed-host';

describe('the process running an operation is killed part-way', () => {
  let box: Box;
  let proxy: Proxy;
  let work: ReturnType<typeof tempDir>;
  let conf: string;
  const children: ResultPromise[] = [];
  before(async () => {
    box = await startBox([BUCKET]);
    await putObjects(box, BUCKET, { 'v1/.keep': '', 'v1/model.bin': 'one', 'v2/.keep': '', 'v2/model.bin': 'two' });
    // 100 ms per request: a mount takes long enough to be killed in the middle of it.
    proxy = await startProxy(box.s3.port, 100);
    work = tempDir('rdb-killed-');
    conf = join(work.path, 'rclone.conf');
    writeFileSync(conf, s3Remote('slow', proxy.endpoint), { mode: 0o600 });
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await c.catch(() => undefined);
    }
  });
  after(async () => {
    const stateDir = join(work.path, 'state');
    for (const app of await findApps(stateDir).catch(() => [])) await stopApp(app, stateDir);
    await cleanUp([work.path]);
    await proxy?.stop();
    await box?.dispose();
    work?.dispose();
  });

  const env = () => ({ ...box.rclone.env, RCLONE_CONFIG: conf, STATE: join(work.path, 'state') });
  /** Runs `script` (a bundled snippet) as a child; returns it, to be killed. */
  const spawn = (script: string, ...args: string[]) => {
    const c = execa(process.execPath, [script, ...args], {
      env: env(),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    children.push(c);
    return c;
  };
  const registry = async () =>
    new MountRegistry(await Rclone.locate({ configFile: conf }), { stateDir: join(work.path, 'state') });

  it('a mount: killed at any point, the next look finds it mounted with its record, or not at all', async (t) => {
    const script = bundleSnippet(
      work.path,
      'mount',
      `import { MountRegistry } from './src/core/mounts';
       import { Rclone } from './src/core/rclone';
       const [mountPoint] = process.argv.slice(2);
       Rclone.locate({ configFile: process.env.RCLONE_CONFIG }).then((r) =>
         new MountRegistry(r, { stateDir: process.env.STATE }).mount({ remote: 'slow:${BUCKET}', mountPoint, cacheDir: mountPoint + '-cache' }),
       ).then(() => console.log('mounted'));`,
    );
    for (const [i, killAfterMs] of [20, 120, 300, 700].entries()) {
      const mountPoint = join(work.path, `mnt${i}`);
      const child = spawn(script, mountPoint);
      await new Promise((ok) => setTimeout(ok, killAfterMs));
      child.kill('SIGKILL');
      await child;
      const reg = await registry();
      // A mount that was starting settles: mounted (its rclone lives on, detached) or gone.
      await waitFor(async () => (await reg.refresh(), reg.find(mountPoint)?.state !== 'mounting'), 20_000);
      const m = reg.find(mountPoint);
      const rclones = rclonePidsWhere((argv) => argv.includes(mountPoint));
      const recorded = await reg.records.get(mountPoint);
      t.diagnostic(
        `killed after ${killAfterMs} ms: ${m ? `${m.state}, rclone ${recorded?.pid}` : 'no mount, no rclone'}`,
      );
      if (m) {
        assert.equal(m.state, 'mounted', `killed after ${killAfterMs} ms: ${m.state}`);
        assert.equal(m.external, false, 'our rclone, with its record and rc');
        assert.ok(recorded && rclones.includes(recorded.pid));
        assert.ok(await (await reg.rc(mountPoint))!.pid(), 'its rc answers');
        await reg.unmount(mountPoint, { force: true });
      } else {
        assert.deepEqual(rclones, [], `killed after ${killAfterMs} ms: an rclone without a record`);
        assert.equal(recorded, undefined, 'a record of a mount that does not exist');
        assert.ok(!(await readRcloneMounts()).some((e) => e.mountPoint === mountPoint));
      }
    }
  });

  it('a relink loop: killed at any point, the link points at one of its targets, with no temp left in the way', async () => {
    const reg = await registry();
    const mountPoint = join(work.path, 'mnt-link');
    await reg.mount({ remote: `slow:${BUCKET}`, mountPoint, cacheDir: `${mountPoint}-cache` });
    const ws = join(work.path, 'ws-link');
    mkdirSync(ws);
    const link = join(ws, 'cache_hub');
    const script = bundleSnippet(
      work.path,
      'relink',
      `import { relink } from './src/core/link';
       const [link, a, b] = process.argv.slice(2);
       (async () => { for (let i = 0; ; i++) await relink(link, i % 2 ? a : b, { stateDir: process.env.STATE }); })();`,
    );
    const targets = [join(mountPoint, 'v1'), join(mountPoint, 'v2')];
    // The link exists before the loop starts: from then on it may switch, never go missing.
    await relink(link, targets[0]!, { stateDir: join(work.path, 'state') });
    for (const killAfterMs of [50, 150, 400]) {
      const child = spawn(script, link, ...targets);
      await new Promise((ok) => setTimeout(ok, killAfterMs));
      child.kill('SIGKILL');
      await child;
      assert.ok(lstatSync(link).isSymbolicLink(), 'still a link');
      assert.ok(targets.includes(readlinkSync(link)), readlinkSync(link));
      const strays = readdirSync(ws).filter((n) => n !== 'cache_hub');
      // A temp link of a killed switch may be left (rename never ran); the next switch removes old ones.
      assert.ok(
        strays.every((n) => n.endsWith('.relink')),
        `unexpected files: ${strays.join(', ')}`,
      );
    }
  });

  it('a bring-up: killed once the app runs, the app lives on, recorded; the next bring-up finds it, no second copy', async () => {
    const ws = join(work.path, 'ws-app');
    mkdirSync(ws);
    copyFileSync(join(ROOT, 'test/fixtures/webui.py'), join(ws, 'webui.py'));
    const port = await freePort();
    const script = bundleSnippet(
      work.path,
      'bringup',
      `import { bringUp, planOf } from './src/core/bringup';
       import { MountRegistry } from './src/core/mounts';
       import { Rclone } from './src/core/rclone';
       const [ws, mountPoint, port] = process.argv.slice(2);
       const profile = { remote: 'slow:${BUCKET}', mountPoint, cacheDir: mountPoint + '-cache' };
       const task = { label: 'app', mount: profile.remote, link: { cache_hub: 'v2' }, command: ['python', 'webui.py', '--port', port], readyUrl: 'http://127.0.0.1:' + port + '/', env: { WEBUI_START_DELAY: '3' } };
       Rclone.locate({ configFile: process.env.RCLONE_CONFIG }).then((r) =>
         bringUp(planOf(task, ws, [profile], { mountRoot: '/unused' }), { line: (l) => console.log(l) }, { registry: new MountRegistry(r, { stateDir: process.env.STATE }) }),
       );`,
    );
    const mountPoint = join(work.path, 'mnt-app');
    const child = spawn(script, ws, mountPoint, String(port));
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(() => /^app {5}/m.test(out), 30_000); // started, not ready yet (3 s)
    child.kill('SIGKILL');
    await child;
    const stateDir = join(work.path, 'state');
    const [app] = await findApps(stateDir, ws);
    assert.ok(app, 'the app outlives the process that started it, recorded');
    // The next bring-up (a new window, the CLI) finds it: the same pid, not a second copy.
    const again = spawn(script, ws, mountPoint, String(port));
    const r = await again;
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.match(String(r.stdout), new RegExp(`already running \\(pid ${app.pid}`));
    assert.deepEqual(
      (await findApps(stateDir, ws)).map((a) => a.pid),
      [app.pid],
    );
  });
});
