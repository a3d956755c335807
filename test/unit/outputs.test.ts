// A team profile's bring-up that publishes the app's outputs to the bucket: `./outputs` →
// `outputs/${hostname}` on the mount, a folder that does not exist yet on a fresh box. Real parts:
// the local S3 server, a real FUSE mount, the real `rclone-devbox up`, `status --json` and `unmount`,
// and a separate rclone listing of the bucket. Also: `up` on a box whose rclone config lacks the
// team's remote fails before anything is mounted, saying how to add it. Every wait is bounded.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { MountRegistry } from '../../src/core/mounts';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';

const BUCKET = 'index-tts-data';
/** How long rclone keeps a closed file before uploading it: long enough to see it pending. */
const WRITE_BACK_S = 10;

describe('outputs published to the bucket', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  let registry: MountRegistry | undefined;
  before(async () => {
    box = await startBox([BUCKET]);
    await putObjects(box, BUCKET, {
      'cache_hub_v23/.keep': '',
      'cache_hub_v23/gpt.pth': 'weights v23',
      'notes.txt': 'a file, not a folder',
    });
  });
  after(() => box?.dispose());
  /** Every folder a test made (a test may make more than one): cleaned and removed after it. */
  const made: Array<ReturnType<typeof tempDir>> = [];
  afterEach(async () => {
    registry?.dispose();
    registry = undefined;
    await cleanUp(made.map((m) => m.path));
    for (const m of made.splice(0)) m.dispose();
    work = undefined;
  });

  /**
   * A folder whose only definition is its team profile (.vscode/rclone-devbox.json): the remote
   * `remotes` describe, a full-cache profile of the bucket, and a task linking cache_hub and outputs.
   */
  function folder(opts: { link?: Record<string, string>; remotes?: Record<string, unknown>; remote?: string } = {}) {
    work = tempDir('rdb-outputs-');
    made.push(work);
    const ws = join(work.path, 'ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    const mountPoint = join(work.path, 'mnt', BUCKET);
    const remote = opts.remote ?? 's3';
    const team = {
      remotes: opts.remotes ?? {
        s3: { type: 's3', provider: 'Other', endpoint: box.s3.endpoint, credentials: 'keys' },
      },
      'rclone.mounts': [
        {
          remote: `${remote}:${BUCKET}`,
          mountPoint,
          cacheMode: 'full',
          cacheDir: join(work.path, 'vfs'),
          warm: ['cache_hub'],
          extraFlags: ['--vfs-write-back', `${WRITE_BACK_S}s`],
        },
      ],
      tasks: [
        {
          type: 'rclone-devbox',
          label: 'webui',
          mount: `${remote}:${BUCKET}`,
          link: opts.link ?? { cache_hub: 'cache_hub_v23', outputs: 'outputs/${hostname}' },
        },
      ],
    };
    writeFileSync(join(ws, '.vscode', 'rclone-devbox.json'), `// the team's\n${JSON.stringify(team, null, 2)}\n`);
    const stateDir = join(work.path, 'state', 'rclone-devbox');
    return { ws, mountPoint, env: cliEnv(box, work.path), stateDir };
  }

  const mounted = async (dir: string) => (await readRcloneMounts()).some((e) => e.mountPoint === dir);
  /** The bucket's objects under `prefix`, as a separate rclone lists them (not through the mount). */
  const inBucket = async (prefix: string) =>
    (
      await box.rclone.run(['lsf', '-R', '--files-only', '--fast-list', '--', `s3:${BUCKET}/${prefix}`], {
        timeoutMs: 20_000,
      })
    )
      .split('\n')
      .filter(Boolean)
      .sort();

  it('creates outputs/<host> through the mount and links ./outputs; what the app writes is uploaded in the background, and unmount waits for it', async () => {
    const f = folder();
    const host = hostname();
    const target = join(f.mountPoint, 'outputs', host);
    const up = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(up.code, 0, up.stderr);
    const lines = up.stdout.split('\n');
    assert.ok(lines.includes(`link    ./cache_hub → ${join(f.mountPoint, 'cache_hub_v23')}`), up.stdout);
    assert.ok(lines.includes(`link    ./outputs → ${target} (the folder was created on the mount)`), up.stdout);
    assert.match(up.stdout, /^rclone-devbox: ready: storage is up/m);
    assert.equal(readlinkSync(join(f.ws, 'outputs')), target);
    assert.ok(lstatSync(target).isDirectory(), 'the folder is on the mount');
    assert.deepEqual(await inBucket('outputs'), [], 'an empty folder is nothing in the bucket yet');

    // The app's results, written through ./outputs.
    writeFileSync(join(f.ws, 'outputs', 'take-1.wav'), 'RIFF one');
    mkdirSync(join(f.ws, 'outputs', 'batch'));
    writeFileSync(join(f.ws, 'outputs', 'batch', 'take-2.wav'), 'RIFF two');
    registry = new MountRegistry(box.rclone, { stateDir: f.stateDir });
    const pending = async () => (await registry!.refresh()).find((m) => m.mountPoint === f.mountPoint)?.pendingUploads;
    // rclone queues an upload when the kernel passes the close on, just after close() returns.
    await waitFor(async () => (await pending()) === 2, 5_000);
    const status = await cli(['status', '--json'], f.env, 20_000, f.ws);
    assert.equal(status.code, 0, status.stderr);
    const seen = (JSON.parse(status.stdout) as { mounts: { mountPoint: string; pendingUploads: number }[] }).mounts;
    assert.ok((seen.find((m) => m.mountPoint === f.mountPoint)?.pendingUploads ?? 0) > 0, status.stdout);

    // The no-loss rule: not unmounted while they are pending (waiting a second for them here, 10 min by default).
    const refused = await cli(['unmount', f.mountPoint, '--wait', '1s'], f.env, 20_000);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /^waiting for 2 uploads…$/m, 'it waited');
    assert.match(
      refused.stderr,
      new RegExp(`^2 files are still uploading from ${f.mountPoint}; it stays mounted\\.$`, 'm'),
    );
    assert.match(refused.stderr, /--force only if nothing was written to it recently/);
    assert.ok(await mounted(f.mountPoint), 'still mounted');
    assert.deepEqual(await inBucket(`outputs/${host}`), [], `not uploaded before --vfs-write-back (${WRITE_BACK_S} s)`);

    // Uploaded in the background, under outputs/<this host>/.
    await waitFor(async () => (await inBucket(`outputs/${host}`)).length === 2, (WRITE_BACK_S + 30) * 1_000);
    assert.deepEqual(await inBucket(`outputs/${host}`), ['batch/take-2.wav', 'take-1.wav']);
    const cat = await box.rclone.run(['cat', '--', `s3:${BUCKET}/outputs/${host}/batch/take-2.wav`], {
      timeoutMs: 20_000,
    });
    assert.equal(cat, 'RIFF two');
    await waitFor(async () => (await pending()) === 0, 10_000);
    const down = await cli(['unmount', f.mountPoint], f.env, 30_000);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await mounted(f.mountPoint), false);
  });

  it('again: the link is already there; after a remount its empty folder is made again (an empty folder lives only in the mount that made it)', async () => {
    const f = folder();
    const target = join(f.mountPoint, 'outputs', hostname());
    const first = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(first.code, 0, first.stderr);
    const again = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.stdout.split('\n').includes(`link    ./outputs → ${target} (already)`), again.stdout);
    const down = await cli(['unmount', f.mountPoint], f.env, 30_000);
    assert.equal(down.code, 0, down.stderr);
    const remounted = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
    assert.equal(remounted.code, 0, remounted.stderr);
    assert.ok(
      remounted.stdout
        .split('\n')
        .includes(`link    ./outputs → ${target} (already; the folder was created on the mount)`),
      remounted.stdout,
    );
    assert.ok(statSync(join(f.ws, 'outputs')).isDirectory(), './outputs leads to a folder again');
  });

  it('a target that exists and is not a folder is still refused (a file, or a path through a file), and nothing is linked', async () => {
    for (const target of ['notes.txt', 'notes.txt/run-1']) {
      const f = folder({ link: { outputs: target } });
      const r = await cli(['up', '--no-app'], f.env, 60_000, f.ws);
      assert.equal(r.code, 1, r.stdout);
      assert.match(
        r.stderr,
        new RegExp(`^${join(f.mountPoint, 'notes.txt')} is a file, not a folder; nothing was changed\\.`),
      );
      assert.equal(existsSync(join(f.ws, 'outputs')), false, 'no link');
      assert.equal(lstatSync(join(f.mountPoint, 'notes.txt')).isFile(), true, 'the file is as it was');
      await cleanUp([work!.path]);
      work!.dispose();
      work = undefined;
    }
  });

  it("`up` where the team's remote is not in rclone.conf fails before mounting, naming the team profile and the command that adds it", async () => {
    const endpoint = 'http://internal.s3-cn-bj.ufileos.com';
    const f = folder({
      remote: 'compshare',
      remotes: { compshare: { type: 's3', provider: 'Other', endpoint, credentials: 'keys' } },
    });
    const r = await cli(['up', '--no-app'], f.env, 30_000, f.ws);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stdout, '', 'nothing was begun');
    const [message, fix] = r.stderr.trim().split('\n');
    assert.match(
      message!,
      new RegExp(
        `^There is no remote called "compshare" in ${box.configFile}; the team profile ${join(f.ws, '.vscode', 'rclone-devbox.json')} names it\\.$`,
      ),
    );
    assert.equal(
      fix,
      'Add it: `rclone-devbox setup` in this folder, or in the editor "Rclone: Apply Team Profile" (both ask only for the secrets); by hand: ' +
        `\`rclone config create compshare s3 provider Other endpoint ${endpoint}\`, then its keys with \`rclone config\`, choosing e (Edit existing remote) (it asks for them).`,
    );
    assert.equal(await mounted(f.mountPoint), false);
    assert.equal(existsSync(f.mountPoint), false, 'not even the mount point was made');

    // A credentials command: the profile rclone reads it from, with the team's command filled in.
    const g = folder({
      remote: 'compshare',
      remotes: {
        compshare: { type: 's3', endpoint, region: 'cn-bj', credentials: 'command', command: 'sts-broker --json' },
      },
    });
    const c = await cli(['up'], { ...g.env, AWS_CONFIG_FILE: join(work!.path, 'aws-config') }, 30_000, g.ws);
    assert.equal(c.code, 1, c.stdout);
    assert.ok(
      c.stderr.includes(
        `\`rclone config create compshare s3 endpoint ${endpoint} region cn-bj env_auth true profile rclone-devbox-compshare\`, ` +
          `with the lines "[profile rclone-devbox-compshare]" and "credential_process = sts-broker --json" in ${join(work!.path, 'aws-config')}.`,
      ),
      c.stderr,
    );
    assert.equal(await mounted(g.mountPoint), false);
  });
});
