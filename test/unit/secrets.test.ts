// Secrets never leak (the fault matrix's "Secrets" section). A whole session runs as a user runs
// it (the built CLI, plus core for editing a remote, which the CLI has no command for) with
// distinctive secrets in play: the bucket's secret key (set, then changed), a crypt password, secret
// flags in a profile's extraFlags, a wrong secret for a refused listing, and each mount's rc
// password. Meanwhile a sampler (its own thread, so a busy test cannot starve it) reads every
// process's argv every 20 ms, and every rclone run is logged by a wrapper in front of rclone (a
// short-lived `rclone obscure` may live less than 20 ms). At the end: no argv, no output, no error
// text, no file of ours holds a secret (a mount's record holds its own rc password, by design, and
// is 0600); another local user (nobody) can read none of our state; the rc refuses strangers and
// listens on loopback only. Real rclone, real FUSE, a real S3 server; everything is ended in after().
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { appEnv, findApps, stopApp } from '../../src/core/app';
import { RcloneConfig } from '../../src/core/config';
import { isRcloneError } from '../../src/core/errors';
import { listFolder } from '../../src/core/listing';
import { MountRegistry } from '../../src/core/mounts';
import { Rclone } from '../../src/core/rclone';
import type { MountRecord } from '../../src/core/records';
import { cli, type CliRun } from '../helpers/cli';
import { ACCESS_KEY, type S3Server, startS3, tempDir } from '../helpers/fixtures';
import { cleanUp, records } from '../helpers/mounts';

const BUCKET = 'secret-data';
/** Distinctive, random per run: a hit can only be a leak, never a coincidence. */
const distinct = (what: string) => `${what}${randomBytes(12).toString('hex')}`;
const S3_SECRET = distinct('s3first');
const S3_SECRET_EDITED = distinct('s3edited');
const CRYPT_PASS = distinct('cryptpass');
const FLAG_SECRET = distinct('flagb2key');
const FLAG_SECRET_SPLIT = distinct('flagazkey');
const WRONG_SECRET = distinct('wrongsecret');
const ENV_SECRET = distinct('envonly');
const FIXED = [S3_SECRET, S3_SECRET_EDITED, CRYPT_PASS, FLAG_SECRET, FLAG_SECRET_SPLIT, WRONG_SECRET, ENV_SECRET];

/**
 * Reads /proc/<pid>/cmdline of every process every 20 ms in a worker thread and keeps each
 * distinct argv (the rc passwords are learnt later, so argvs are checked at the end, not as read).
 */
const SAMPLER = `
const { parentPort } = require('node:worker_threads');
const { readdirSync, readFileSync } = require('node:fs');
const argvs = new Set();
const pids = new Set();
let samples = 0;
let stopping = false;
parentPort.on('message', () => (stopping = true));
(function tick() {
  for (const pid of readdirSync('/proc')) {
    if (!/^\\d+$/.test(pid)) continue;
    let cmdline;
    try {
      cmdline = readFileSync('/proc/' + pid + '/cmdline', 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    pids.add(pid + ' ' + cmdline.split('\\0')[0]);
    argvs.add(cmdline.split('\\0').join(' '));
  }
  samples++;
  if (stopping) parentPort.postMessage({ samples, processes: [...pids], argvs: [...argvs] });
  else setTimeout(tick, 20);
})();
`;

interface Sampled {
  samples: number;
  processes: string[];
  argvs: string[];
}

function startSampler(): { stop(): Promise<Sampled> } {
  const worker = new Worker(SAMPLER, { eval: true });
  const done = new Promise<Sampled>((ok, fail) => {
    worker.once('message', ok);
    worker.once('error', fail);
  });
  let stopped: Promise<Sampled> | undefined;
  return {
    stop: () => (stopped ??= (worker.postMessage('stop'), done).finally(() => void worker.terminate())),
  };
}

/** POST to a mount's rc on loopback, with the given credentials (or none). */
function rcPost(port: number, path: string, auth?: string): Promise<number> {
  return new Promise((ok, fail) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('rc did not answer')));
    req.on('error', fail);
    req.end('{}');
  });
}

/** Every file under `dir` (symlinks not followed), with its mode. */
function walk(dir: string): Array<{ path: string; mode: number; dir: boolean }> {
  const found: Array<{ path: string; mode: number; dir: boolean }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = lstatSync(path);
    if (info.isSymbolicLink()) continue;
    found.push({ path, mode: info.mode & 0o777, dir: info.isDirectory() });
    if (info.isDirectory()) found.push(...walk(path));
  }
  return found;
}

/** How to run a command as `nobody` here, or why it cannot be done (then that check is skipped). */
async function asNobody(): Promise<string[] | string> {
  if (process.getuid?.() !== 0) return 'not root: cannot run a command as another user';
  const nobody = await execa('id', ['-u', 'nobody'], { reject: false });
  if (nobody.exitCode !== 0) return 'there is no user "nobody" on this machine';
  const ways = [
    ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'],
    ['runuser', '-u', 'nobody', '--'],
  ];
  for (const prefix of ways) {
    const probe = await execa(prefix[0]!, [...prefix.slice(1), 'true'], { reject: false, stdin: 'ignore' });
    if (probe.exitCode === 0) return prefix;
  }
  return 'neither setpriv nor runuser can run a command as nobody here';
}

describe('secrets never leak', () => {
  let s3: S3Server;
  let work: ReturnType<typeof tempDir>;
  let sampler: ReturnType<typeof startSampler>;
  let rclone: Rclone;
  let conf: string;
  let wrapper: string;
  let argvLog: string;
  let env: Record<string, string>;
  let state: string;
  let ws: string;
  const runs: Array<{ args: string[]; run: CliRun }> = [];
  const errors: string[] = [];
  const mp = { one: '', two: '' };
  let workspaceFiles: Record<string, string> = {};

  /** The rc passwords of every mount started so far (read from their records as they appear). */
  const rcPasswords = new Set<string>();
  const learnPasswords = () => records(state).forEach((r) => rcPasswords.add(r.pass));
  const secrets = () => [...FIXED, ...rcPasswords];
  const hits = (text: string) => secrets().filter((s) => text.includes(s));

  /** The CLI as a user runs it; its output may hold no secret at all, not even the fixture's. */
  async function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
    const r = await cli(args, { ...env, ...opts.env }, 90_000, opts.cwd);
    runs.push({ args, run: r });
    learnPasswords();
    assert.deepEqual(hits(`${r.stdout}${r.stderr}`), [], `a secret reached the output of ${args.join(' ')}`);
    return r;
  }

  const errorText = (e: unknown) => (isRcloneError(e) ? `${e.message}\n${e.detail}\n${e.fix}` : String(e));

  before(async () => {
    sampler = startSampler();
    work = tempDir('rdb-secrets-');
    // As on a real box: the user's home is traversable by others (0755) and ~/.local/state exists;
    // only what we create decides whether another user can read our state.
    chmodSync(work.path, 0o755);
    mkdirSync(join(work.path, 'state'), { mode: 0o755 });
    state = join(work.path, 'state', 'rclone-devbox');
    s3 = await startS3([BUCKET]);
    conf = join(work.path, 'rclone.conf');
    // Every rclone run, argv included, is logged before it starts: a run too short for the sampler is still seen.
    mkdirSync(join(work.path, 'bin'));
    argvLog = join(work.path, 'argv.log');
    wrapper = join(work.path, 'bin', 'rclone');
    const real = (await Rclone.locate()).path;
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    rclone = await Rclone.locate({ path: wrapper, configFile: conf });
    env = {
      ...rclone.env,
      RCLONE_CONFIG: conf,
      RCLONE_DEVBOX_RCLONE: wrapper,
      XDG_STATE_HOME: join(work.path, 'state'),
      XDG_CACHE_HOME: join(work.path, 'cache'),
      RCLONE_DEVBOX_VERBOSE: '',
    };
    mp.one = join(work.path, 'mnt', 'one');
    mp.two = join(work.path, 'mnt', 'two');
  });

  after(async () => {
    await sampler?.stop().catch(() => undefined);
    if (work) {
      for (const app of await findApps(state).catch(() => [])) await stopApp(app, state).catch(() => undefined);
      await cleanUp([work.path]);
    }
    await s3?.stop();
    work?.dispose();
  });

  it('adding and editing a remote: secrets reach rclone on stdin only; the config file is 0600', async () => {
    const config = new RcloneConfig(rclone, conf);
    const s3Values = (secret: string) => ({
      provider: 'Other',
      access_key_id: ACCESS_KEY,
      secret_access_key: secret,
      endpoint: s3.endpoint,
      region: 'us-east-1',
    });
    await config.setRemote('secretbox', 's3', s3Values(S3_SECRET));
    await config.setRemote('secretbox', 's3', s3Values(S3_SECRET_EDITED)); // Edit Remote: a new secret key
    // A password option is obscured by `rclone obscure -` reading stdin.
    await config.setRemote('vault', 'crypt', { remote: `secretbox:${BUCKET}/vault`, password: CRYPT_PASS });
    // s3rver checks signatures only with V2 signing: with it, this wrong secret is refused for real.
    await config.setRemote('badbox', 's3', { ...s3Values(WRONG_SECRET), v2_auth: 'true' });
    const text = readFileSync(conf, 'utf8');
    assert.ok(text.includes(S3_SECRET_EDITED) && !text.includes(S3_SECRET), 'the edited secret replaced the first');
    assert.ok(!text.includes(CRYPT_PASS), 'the crypt password is stored obscured');
    assert.equal(statSync(conf).mode & 0o777, 0o600);
    // The remotes work with those secrets (s3rver takes any secret with V4 signing; the crypt needs its password).
    for (const [key, body] of Object.entries({
      'cache_hub/.keep': '',
      'cache_hub/gpt.pth': 'weights',
      'cache_hub/tokenizer.json': '{}',
    }))
      await rclone.run(['rcat', '--', `secretbox:${BUCKET}/${key}`], { input: body });
    await rclone.run(['rcat', '--', 'vault:hello.txt'], { input: 'sealed' });
    assert.equal(await rclone.run(['cat', '--', 'vault:hello.txt']), 'sealed');
  });

  it('a refused listing with a wrong secret: neither its message nor its detail names the secret', async () => {
    await assert.rejects(listFolder(rclone, `badbox:${BUCKET}`), (e) => {
      errors.push(errorText(e));
      return isRcloneError(e, 'AuthFailed');
    });
    assert.deepEqual(hits(errors[0]!), [], errors[0]);
    const quiet = await run(['ls', `badbox:${BUCKET}`]);
    const loud = await run(['-v', 'ls', `badbox:${BUCKET}`]); // rclone's own lines too
    assert.equal(quiet.code, 1);
    assert.match(loud.stderr, /credentials for badbox were refused/);
    // The remotes that work, listed: names and endpoints only.
    for (const args of [['remotes'], ['ls', `secretbox:${BUCKET}`], ['ls', 'vault:']]) {
      const r = await run(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
  });

  it('mount, mounts --json, prewarm, status --json, up, doctor: nothing printed holds a secret', async () => {
    const vfs = join(work.path, 'vfs');
    const m = await run(['mount', `secretbox:${BUCKET}`, mp.one, '--cache-dir', vfs, '--timeout', '30s']);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(rcPasswords.size, 1, 'the mount has a record with its rc password');

    // A folder with a profile whose extraFlags hold secrets (both spellings), and two tasks: storage
    // only, and an app that prints its environment.
    ws = join(work.path, 'ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    const settings = JSON.stringify(
      {
        'rclone.mounts': [
          {
            remote: `secretbox:${BUCKET}`,
            mountPoint: mp.two,
            cacheMode: 'full',
            cacheDir: vfs,
            extraFlags: [`--b2-key=${FLAG_SECRET}`, '--azureblob-key', FLAG_SECRET_SPLIT],
          },
        ],
      },
      null,
      2,
    );
    const task = { type: 'rclone-devbox', mount: mp.two, link: { cache_hub: 'cache_hub' }, prewarm: ['cache_hub'] };
    const tasks = JSON.stringify(
      {
        version: '2.0.0',
        tasks: [
          { ...task, label: 'storage' },
          { ...task, label: 'envdump', command: ['sh', '-c', 'env; echo app-env-done'], readyPattern: 'app-env-done' },
        ],
      },
      null,
      2,
    );
    writeFileSync(join(ws, '.vscode', 'settings.json'), settings);
    writeFileSync(join(ws, '.vscode', 'tasks.json'), tasks);
    workspaceFiles = { 'settings.json': settings, 'tasks.json': tasks };

    const up = await run(['up', '--no-app', '--task', 'storage'], { cwd: ws });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(rcPasswords.size, 2);
    // The app's run: the shell's environment also holds a key the way rclone reads one from the environment.
    const upApp = await run(['up', '--task', 'envdump'], {
      cwd: ws,
      env: { RCLONE_CONFIG_SECRETBOX_SECRET_ACCESS_KEY: S3_SECRET_EDITED, RCLONE_DEVBOX_PROBE: ENV_SECRET },
    });
    assert.equal(upApp.code, 0, upApp.stderr);
    assert.match(upApp.stdout, /app-env-done/);

    // The records keep the profile's secret flags (a remount needs them); `mounts --json` masks them.
    const listed = await run(['mounts', '--json']);
    const two = (JSON.parse(listed.stdout) as Array<{ mountPoint: string; profile?: { extraFlags?: string[] } }>).find(
      (x) => x.mountPoint === mp.two,
    );
    assert.deepEqual(two?.profile?.extraFlags, ['--b2-key=***', '--azureblob-key', '***']);
    for (const args of [
      ['mounts'],
      ['prewarm', join(mp.one, 'cache_hub')],
      ['prewarm', '--json', mp.two],
      ['status'],
      ['status', '--json'],
    ]) {
      const r = await run(args, { cwd: ws });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const doctor = await run(['doctor'], { cwd: ws });
    assert.match(doctor.stdout, /ok +access to secretbox:secret-data/, doctor.stdout);
  });

  it("the app's environment has no RCLONE_* variable and no secret", async () => {
    const own = appEnv({
      ...process.env,
      RCLONE_RC_PASS: [...rcPasswords][0],
      RCLONE_CONFIG_SECRETBOX_SECRET_ACCESS_KEY: S3_SECRET_EDITED,
      RCLONE_B2_KEY: FLAG_SECRET,
    });
    assert.deepEqual(
      Object.keys(own).filter((k) => k.startsWith('RCLONE_')),
      [],
    );
    assert.deepEqual(hits(JSON.stringify(own)), []);
    // What the app of `up` saw (it printed its environment into its log).
    const logs = readdirSync(join(state, 'apps')).filter((n) => n.endsWith('.log'));
    assert.equal(logs.length, 1, 'the app left its log');
    const seen = readFileSync(join(state, 'apps', logs[0]!), 'utf8');
    assert.match(seen, /^PYTHONUNBUFFERED=1$/m, 'the log holds the environment');
    assert.deepEqual(
      seen.split('\n').filter((l) => l.startsWith('RCLONE_')),
      [],
    );
    // ENV_SECRET was in `up`'s environment under an RCLONE_ name only: the app must not have it.
    assert.deepEqual(hits(seen), []);
  });

  it('the rc refuses a request without or with wrong credentials, answers ours, and listens on 127.0.0.1 only', async () => {
    const all = records(state);
    assert.equal(all.length, 2);
    const tcp = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
    const tcp6 = readFileSync('/proc/net/tcp6', 'utf8').split('\n').slice(1);
    for (const r of all) {
      for (const path of ['/rc/noop', '/core/pid']) {
        assert.equal(await rcPost(r.port, path), 401, `${path} without credentials`);
        assert.equal(await rcPost(r.port, path, `${r.user}:wrong-${r.pass}`), 401, `${path} with a wrong password`);
        assert.equal(await rcPost(r.port, path, `someone:${r.pass}`), 401, `${path} with a wrong user`);
        assert.equal(await rcPost(r.port, path, `${r.user}:${r.pass}`), 200, `${path} with ours`);
      }
      const hex = r.port.toString(16).toUpperCase().padStart(4, '0');
      const listening = (lines: string[]) =>
        lines.map((l) => l.trim().split(/\s+/)).filter((f) => f[1]?.endsWith(`:${hex}`) && f[3] === '0A');
      assert.deepEqual(
        listening(tcp).map((f) => f[1]),
        [`0100007F:${hex}`],
        'listens on 127.0.0.1, not 0.0.0.0',
      );
      assert.deepEqual(listening(tcp6), [], 'and not on IPv6');
    }
  });

  it('state files: records 0600 holding only their own rc password, nothing else holds any secret; folders private', async () => {
    const files = [{ path: state, mode: statSync(state).mode & 0o777, dir: true }, ...walk(state)];
    const open = files.filter((f) => f.mode & 0o077).map((f) => `${f.path} ${f.mode.toString(8)}`);
    assert.deepEqual(open, [], 'group or others may read these');
    for (const f of files.filter((x) => !x.dir)) {
      const text = readFileSync(f.path, 'utf8');
      const record = f.path.startsWith(join(state, 'mounts') + '/') && f.path.endsWith('.json');
      // A record holds its own rc password, and its profile (a remount needs the profile's secret flags).
      const mine = record ? (JSON.parse(text) as MountRecord) : undefined;
      const allowed = mine ? [mine.pass, ...(mine.profile.extraFlags ?? [])].join('\n') : '';
      assert.deepEqual(
        hits(text).filter((s) => !allowed.includes(s)),
        [],
        `${f.path} holds a secret`,
      );
      if (record) assert.equal(f.mode, 0o600, `${f.path} is not 0600`);
    }
    assert.ok(
      files.some((f) => f.path.startsWith(join(state, 'logs') + '/')),
      'the mounts have logs',
    );
    // The workspace's files are the user's: nothing of ours was written into them.
    for (const [name, text] of Object.entries(workspaceFiles))
      assert.equal(readFileSync(join(ws, '.vscode', name), 'utf8'), text, name);
    assert.deepEqual(readdirSync(join(ws, '.vscode')).sort(), Object.keys(workspaceFiles).sort());
  });

  it('another local user (nobody) can read none of it: records, logs, apps, the state folder', async (t) => {
    const prefix = await asNobody();
    if (typeof prefix === 'string') return t.skip(prefix);
    const [record] = records(state);
    const appsDir = join(state, 'apps');
    const appLog = readdirSync(appsDir).find((n) => n.endsWith('.log'))!;
    const targets: Array<[string, string[]]> = [
      ['the state folder', ['ls', state]],
      ['a mount record', ['cat', join(state, 'mounts', readdirSync(join(state, 'mounts'))[0]!)]],
      ['a mount log', ['cat', record!.logFile]],
      ['the apps folder', ['ls', appsDir]],
      ['an app log', ['cat', join(appsDir, appLog)]],
      ['the rclone config', ['cat', conf]],
    ];
    for (const [what, argv] of targets) {
      const r = await execa(prefix[0]!, [...prefix.slice(1), ...argv], { reject: false, stdin: 'ignore' });
      assert.notEqual(r.exitCode, 0, `nobody could read ${what}: ${String(r.stdout).slice(0, 200)}`);
      assert.match(String(r.stderr), /Permission denied/, what);
    }
    // The check itself works: nobody may read what is meant for everyone.
    const control = await execa(prefix[0]!, [...prefix.slice(1), 'ls', work.path], { reject: false });
    assert.equal(control.exitCode, 0, String(control.stderr));
  });

  it("mounts that fail with a secret flag in play: the error, and the mount's log, do not hold it", async () => {
    const registry = new MountRegistry(rclone, { stateDir: state });
    try {
      const failing = [
        // rclone has no such remote: it fails after reading its environment (the secret flag's variable)
        {
          remote: 'nosuchremote:bucket',
          mountPoint: join(work.path, 'mnt', 'fail-1'),
          extraFlags: [`--b2-key=${FLAG_SECRET}`],
        },
        // -vv would make rclone log every option it takes from the environment, value included
        {
          remote: `secretbox:${BUCKET}`,
          mountPoint: join(work.path, 'mnt', 'fail-2'),
          extraFlags: ['-vv', '--azureblob-key', FLAG_SECRET_SPLIT],
        },
      ];
      for (const profile of failing) {
        await assert.rejects(registry.mount(profile, { timeoutMs: 15_000 }), (e) => {
          errors.push(errorText(e));
          return isRcloneError(e);
        });
      }
    } finally {
      registry.dispose();
    }
    // The same through `up`, as a boot script runs it (its output is checked by run()).
    const broken = join(work.path, 'broken');
    mkdirSync(join(broken, '.vscode'), { recursive: true });
    const mountPoint = join(work.path, 'mnt', 'fail-3');
    writeFileSync(
      join(broken, '.vscode', 'settings.json'),
      JSON.stringify({
        'rclone.mounts': [{ remote: 'nosuchremote:bucket', mountPoint, extraFlags: [`--b2-key=${FLAG_SECRET}`] }],
      }),
    );
    writeFileSync(
      join(broken, '.vscode', 'tasks.json'),
      JSON.stringify({ version: '2.0.0', tasks: [{ type: 'rclone-devbox', label: 'broken', mount: mountPoint }] }),
    );
    const up = await run(['-v', 'up', '--no-app'], { cwd: broken });
    assert.equal(up.code, 1, up.stdout);
    assert.match(up.stderr, /no remote called "nosuchremote"/);
    assert.deepEqual(
      errors.flatMap((e) => hits(e)),
      [],
      errors.join('\n---\n'),
    );
    for (const f of walk(join(state, 'logs')).filter((x) => !x.dir))
      assert.deepEqual(hits(readFileSync(f.path, 'utf8')), [], `${f.path} holds a secret`);
  });

  it("a user's RCLONE_LOG_LEVEL=DEBUG or RCLONE_VERBOSE does not put the rc password in the mount's log (nor stop it)", async () => {
    const cases: Array<Record<string, string>> = [{ RCLONE_LOG_LEVEL: 'DEBUG' }, { RCLONE_VERBOSE: '2' }];
    for (const [i, extra] of cases.entries()) {
      const dir = join(work.path, 'mnt', `verbose-${i}`);
      const m = await run(['mount', `secretbox:${BUCKET}`, dir, '--cache-dir', join(work.path, 'vfs')], { env: extra });
      assert.equal(m.code, 0, `${JSON.stringify(extra)}: ${m.stderr}`);
      const record = records(state).find((r) => r.mountPoint === dir)!;
      const log = readFileSync(record.logFile, 'utf8');
      assert.ok(!log.includes(record.pass), `${JSON.stringify(extra)}: the log holds the rc password`);
      assert.deepEqual(hits(log), []);
      const u = await run(['unmount', dir]);
      assert.equal(u.code, 0, u.stderr);
    }
  });

  it('unmount; then no argv ever seen held a secret (sampled every 20 ms, and every rclone run logged)', async (t) => {
    for (const dir of [mp.one, mp.two]) {
      const u = await run(['unmount', dir]);
      assert.equal(u.code, 0, u.stderr);
    }
    const sampled = await sampler.stop();
    const logged = readFileSync(argvLog, 'utf8').split('\n').filter(Boolean);
    const commands = new Map<string, number>();
    for (const p of sampled.processes) {
      const name = basename(p.slice(p.indexOf(' ') + 1)) || 'kernel thread';
      commands.set(name, (commands.get(name) ?? 0) + 1);
    }
    t.diagnostic(
      `${sampled.samples} samples, ${sampled.processes.length} processes (${[...commands].map(([c, n]) => `${c} ${n}`).join(', ')}), ` +
        `${sampled.argvs.length} distinct argvs; ${logged.length} rclone runs logged; ${runs.length} CLI runs; ` +
        `${rcPasswords.size} rc passwords`,
    );
    assert.ok(sampled.samples > 100, `only ${sampled.samples} samples`);
    assert.ok(
      sampled.argvs.some((a) => / mount /.test(a) && a.includes(mp.one)),
      'the sampler saw the mount running',
    );
    assert.ok(
      logged.some((a) => / obscure -$/.test(a)),
      'the crypt password went through `rclone obscure -`',
    );
    assert.deepEqual(
      sampled.argvs.filter((a) => hits(a).length),
      [],
      'a process argv held a secret',
    );
    assert.deepEqual(
      logged.filter((a) => hits(a).length),
      [],
      'an rclone argv held a secret',
    );
    assert.ok(existsSync(state));
  });
});
