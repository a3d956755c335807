// `rclone-devbox doctor` on a good box and on broken ones, each broken in one way: its exit status
// is its number of problems and a FAIL line names the problem. Real parts throughout: the S3 server
// on loopback, rclone, the FUSE device and helper, a node server holding a port, an app started by
// app.ts. Machine-wide files are never touched: a box without /dev/fuse or without
// user_allow_other is shown by pointing the checks elsewhere (RCLONE_DEVBOX_FUSE_DEVICE, _CONF).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { type AppRecord, startApp, stopApp, waitAppReady } from '../../src/core/app';
import { freePort } from '../../src/core/processes';
import { CLI, cli, cliEnv, type CliRun } from '../helpers/cli';
import { type Box, s3Remote, SECRET_KEY, startBox, tempDir } from '../helpers/fixtures';

const NOBODY = 65534;

describe('rclone-devbox doctor', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  const apps: Array<{ record: AppRecord; stateDir: string }> = [];
  const servers: Server[] = [];
  /** Connections a test's server keeps open. */
  const held = new Set<Socket>();
  before(async () => {
    box = await startBox(['models']);
  });
  after(() => box?.dispose());
  afterEach(async () => {
    for (const a of apps.splice(0)) await stopApp(a.record, a.stateDir, 2_000).catch(() => undefined);
    for (const s of held) s.destroy(); // close() waits for the connections a server still has
    held.clear();
    for (const s of servers.splice(0)) await new Promise((done) => s.close(done));
    work?.dispose();
    work = undefined;
  });
  const fresh = () => (work = tempDir('rdb-clidoctor-')).path;

  interface Profile {
    remote: string;
    mountPoint: string;
    cacheDir?: string;
    cacheMaxSize?: string;
    allowOther?: boolean;
  }

  /**
   * A workspace folder with one profile (s3:models unless given) and a task whose app listens on
   * `port`: its own .vscode/settings.json and tasks.json, as the editor writes them.
   */
  function workspace(dir: string, port: number, profile: Partial<Profile> = {}): string {
    const folder = join(dir, 'ws');
    mkdirSync(join(folder, '.vscode'), { recursive: true });
    const p: Profile = { remote: 's3:models', mountPoint: join(dir, 'mnt'), cacheDir: join(dir, 'vfs'), ...profile };
    writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'rclone.mounts': [p] }, null, 2));
    const task = {
      type: 'rclone-devbox',
      label: 'Bring up webui.py',
      mount: p.remote,
      link: { cache_hub: 'cache_hub_v23' },
      command: ['python', 'webui.py', '--listen', '--port', String(port)],
      readyUrl: `http://127.0.0.1:${port}/`,
    };
    writeFileSync(join(folder, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [task] }, null, 2));
    return folder;
  }

  /** A config file with the box's remote and `extra` remotes. */
  function config(dir: string, extra: string): string {
    const file = join(dir, 'rclone.conf');
    writeFileSync(file, s3Remote('s3', box.s3.endpoint) + extra, { mode: 0o600 });
    return file;
  }

  const lines = (r: CliRun) => r.stdout.split('\n').filter(Boolean);
  const failures = (r: CliRun) => lines(r).filter((l) => l.startsWith('FAIL '));

  /** Each line is a mark and what was checked; a FAIL also names the problem and its fix. */
  function assertShape(r: CliRun): void {
    for (const l of lines(r)) assert.match(l, /^(?:ok {3}|-- {3}|FAIL (?=.+: .+ — .+\.$))\S/, `not a check line: ${l}`);
    const n = failures(r).length;
    assert.equal(r.code, n, `exit status ${r.code} for ${n} FAIL lines:\n${r.stdout}${r.stderr}`);
    if (n) assert.equal(r.stderr.trim(), `${n} problem${n === 1 ? '' : 's'} found.`);
    else assert.equal(r.stderr, '');
  }

  it('a good box: every line is ok, exit status 0', async () => {
    const dir = fresh();
    const port = await freePort();
    const folder = workspace(dir, port, { cacheMaxSize: '100M' });
    const r = await cli(['doctor'], cliEnv(box, dir), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 0, r.stdout);
    const out = lines(r);
    for (const l of out) assert.match(l, /^ok {3}/);
    const expected = [
      /^ok {3}rclone \d+\.\d+\S* at \/\S+ \(PATH\)$/,
      /^ok {3}FUSE device \/dev\/fuse \(read\/write\)$/,
      /^ok {3}FUSE helper \/\S+\/fusermount3?$/,
      new RegExp(
        `^ok {3}workspace ${folder}: 1 profile, 1 task \\(\\.vscode/settings\\.json, \\.vscode/tasks\\.json\\)$`,
      ),
      new RegExp(`^ok {3}rclone config ${box.configFile} \\(RCLONE_CONFIG\\): 1 remote$`),
      /^ok {3}remote s3 \(s3, Other\) is in the config$/,
      new RegExp(`^ok {3}endpoint 127\\.0\\.0\\.1:${box.s3.port} answers in [\\d.]+ ms$`),
      /^ok {3}access to s3:models: listed in [\d.]+ ms$/,
      new RegExp(`^ok {3}VFS cache ${dir}/vfs: [\\d.]+ [KMGT]?B free \\(cacheMaxSize 100M\\)$`),
      new RegExp(`^ok {3}port ${port} is free for the app$`),
    ];
    assert.equal(out.length, expected.length, r.stdout);
    expected.forEach((re, i) => assert.match(out[i]!, re));
  });

  it('a folder without a profile says so (not a problem) and still checks the box', async () => {
    const dir = fresh();
    const folder = join(dir, 'plain');
    mkdirSync(folder);
    const r = await cli(['doctor'], cliEnv(box, dir), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(
      lines(r).map((l) => l.replace(/ \(.*$|:.*$/, '')),
      [
        `ok   rclone ${/rclone (\d\S* at \S+)/.exec(r.stdout)![1]}`,
        'ok   FUSE device /dev/fuse',
        `ok   FUSE helper ${/FUSE helper (\S+)/.exec(r.stdout)![1]}`,
        `--   no mount profile in ${folder}`,
        `ok   rclone config ${box.configFile}`,
      ],
    );
  });

  it('no FUSE device (RCLONE_DEVBOX_FUSE_DEVICE=/nonexistent stands in for a box without /dev/fuse): one problem', async () => {
    const dir = fresh();
    const folder = workspace(dir, await freePort());
    const r = await cli(['doctor'], cliEnv(box, dir, { RCLONE_DEVBOX_FUSE_DEVICE: '/nonexistent' }), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      failures(r)[0]!,
      /^FAIL FUSE device \/nonexistent: it does not exist — Install FUSE \(Debian\/Ubuntu: sudo apt-get install fuse3\)/,
    );
  });

  it('allowOther without user_allow_other in fuse.conf: a problem for a user, none for root', async (t) => {
    const dir = fresh();
    chmodSync(dir, 0o755); // nobody reads the workspace, the config and fuse.conf below
    const conf = join(dir, 'fuse.conf');
    writeFileSync(conf, '# mount_max = 1000\n#user_allow_other\n', { mode: 0o644 });
    const folder = workspace(dir, await freePort(), { allowOther: true, cacheDir: join(dir, 'vfs') });
    const env = cliEnv(box, dir, { RCLONE_DEVBOX_FUSE_CONF: conf });
    const me = await cli(['doctor'], env, 20_000, folder);
    assertShape(me);
    const allow = lines(me).find((l) => l.includes('allow-other'));
    if (process.getuid?.() !== 0) {
      assert.equal(me.code, 1, me.stdout);
      assert.equal(
        allow,
        `FAIL allow-other: Mounting with allow-other needs "user_allow_other" in ${conf} — Add a line "user_allow_other" to ${conf} (as root), or set "allowOther": false in the profile.`,
      );
      return;
    }
    // fusermount asks root for nothing: the check says why it passes rather than pretending to look.
    assert.equal(me.code, 0, me.stdout);
    assert.equal(allow, `ok   allow-other: running as root, which needs no user_allow_other in ${conf}`);

    // The same box as user nobody: now it is a problem. /dev/null stands in for a /dev/fuse that
    // every user may open (mode 666, as on most boxes; here it may be root's only).
    const nobodyConf = join(dir, 'nobody.conf');
    writeFileSync(nobodyConf, s3Remote('s3', box.s3.endpoint), { mode: 0o644 });
    const home = join(dir, 'home');
    mkdirSync(home);
    await execa('chown', ['-R', `${NOBODY}:${NOBODY}`, home]);
    const asNobody = await execa(process.execPath, [CLI, 'doctor'], {
      env: {
        ...cliEnv(box, home, { RCLONE_DEVBOX_FUSE_CONF: conf, RCLONE_DEVBOX_FUSE_DEVICE: '/dev/null' }),
        RCLONE_CONFIG: nobodyConf,
        HOME: home,
      },
      cwd: folder,
      uid: NOBODY,
      gid: NOBODY,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 20_000,
    });
    if (/EACCES|permission denied/i.test(String(asNobody.stderr)) && asNobody.exitCode !== 1)
      return t.skip(`user nobody cannot run the CLI here: ${String(asNobody.stderr).split('\n')[0]}`);
    const r: CliRun = {
      code: asNobody.exitCode,
      stdout: String(asNobody.stdout),
      stderr: String(asNobody.stderr),
      ms: 0,
    };
    assert.ok(!`${r.stdout}${r.stderr}`.includes(SECRET_KEY));
    assertShape(r);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(
      failures(r)[0],
      `FAIL allow-other: Mounting with allow-other needs "user_allow_other" in ${conf} — Add a line "user_allow_other" to ${conf} (as root), or set "allowOther": false in the profile.`,
    );
  });

  it('bad keys: the listing is refused (AuthFailed), one problem, and the wrong secret is not printed', async () => {
    const dir = fresh();
    // s3rver checks signatures only with V2 signing: with it, a wrong secret is refused for real.
    const file = config(dir, `${s3Remote('bad', box.s3.endpoint, 'wrong-secret-1234')}v2_auth = true\n`);
    const folder = workspace(dir, await freePort(), { remote: 'bad:models' });
    const r = await cli(['doctor'], cliEnv(box, dir, { RCLONE_CONFIG: file }), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      failures(r)[0],
      "FAIL access to bad:models: The credentials for bad were refused — Check the remote's access key ID and secret key (and the region, for AWS) in the config file (`rclone config file`), e.g. with `rclone config`, choosing e (Edit existing remote) (it asks for them, so they stay off the command line).",
    );
    assert.match(r.stdout, new RegExp(`^ok {3}endpoint 127\\.0\\.0\\.1:${box.s3.port} answers in`, 'm'));
    assert.ok(!`${r.stdout}${r.stderr}`.includes('wrong-secret-1234'), 'the secret was printed');
  });

  it('a dead endpoint (nothing listens on its port): one problem (Unreachable), said within 15 s', async () => {
    const dir = fresh();
    const dead = await freePort(); // released at once: nobody listens there
    const file = config(dir, s3Remote('dead', `http://127.0.0.1:${dead}`));
    const folder = workspace(dir, await freePort(), { remote: 'dead:models' });
    const r = await cli(['doctor'], cliEnv(box, dir, { RCLONE_CONFIG: file }), 30_000, folder);
    assertShape(r);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(
      failures(r)[0],
      `FAIL endpoint 127.0.0.1:${dead} (remote dead): nothing listens there (connection refused) — Check the endpoint URL in the remote (host, port, http/https) and that the server is up.`,
    );
    // The listing failed for the same reason: said, not counted twice.
    assert.match(r.stdout, /^-- {3}access to dead:models: fails too, as its endpoint does not answer \(above\)$/m);
    assert.ok(r.ms < 15_000, `took ${Math.round(r.ms)} ms`);
  });

  it('an endpoint that accepts connections but never answers: one problem (Timeout), said within 15 s', async () => {
    const dir = fresh();
    // A stuck server: it takes the connection and the request, and says nothing.
    const stuck = createServer((s) => held.add(s.on('error', () => undefined)));
    servers.push(stuck);
    await new Promise<void>((ok) => stuck.listen(0, '127.0.0.1', ok));
    const { port } = stuck.address() as { port: number };
    const file = config(dir, s3Remote('stuck', `http://127.0.0.1:${port}`));
    const folder = workspace(dir, await freePort(), { remote: 'stuck:models' });
    const r = await cli(['doctor'], cliEnv(box, dir, { RCLONE_CONFIG: file }), 30_000, folder);
    assertShape(r);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`^ok {3}endpoint 127\\.0\\.0\\.1:${port} answers in`, 'm'));
    assert.match(
      failures(r)[0]!,
      /^FAIL access to stuck:models: .* within \d+ s — Check the endpoint and the network \(firewall, proxy\); a slow link may need a longer timeout\.$/,
    );
    assert.ok(r.ms < 15_000, `took ${Math.round(r.ms)} ms`);
  });

  it('the app port held by another process: one problem naming its pid', async () => {
    const dir = fresh();
    const server = createServer();
    servers.push(server);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as { port: number };
    const folder = workspace(dir, port);
    const r = await cli(['doctor'], cliEnv(box, dir), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      failures(r)[0]!,
      new RegExp(
        `^FAIL port ${port}: it is in use by \\S+ \\(pid ${process.pid}\\) — Stop the process that holds the port, or change the port in the task`,
      ),
    );
  });

  it("the app port held by the folder's own app, started by rclone-devbox, is fine", async () => {
    const dir = fresh();
    const port = await freePort();
    const folder = workspace(dir, port);
    const stateDir = join(dir, 'state', 'rclone-devbox'); // the CLI's, from XDG_STATE_HOME
    const url = `http://127.0.0.1:${port}/`;
    const app = await startApp(
      { command: ['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1'], cwd: folder, readyUrl: url },
      { stateDir },
    );
    apps.push({ record: app.record, stateDir });
    await waitAppReady(app.record, { readyUrl: url, readyTimeoutMs: 20_000 }, { exited: app.exited });
    const r = await cli(['doctor'], cliEnv(box, dir), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 0, r.stdout);
    assert.match(
      r.stdout,
      new RegExp(`^ok {3}port ${port} is used by the app started by rclone-devbox \\(pid ${app.record.pid}\\)$`, 'm'),
    );
  });

  it('team-profile drift: a remote whose endpoint differs and a team remote missing from the config are problems, with how to fix them', async () => {
    const dir = fresh();
    const folder = workspace(dir, await freePort());
    const team = {
      remotes: {
        // The box's s3 remote, as the team describes it, but at another endpoint.
        s3: { type: 's3', provider: 'Other', endpoint: 'http://s3.team.example:9000', credentials: 'keys' },
        compshare: { type: 's3', provider: 'Other', endpoint: 'internal.s3-cn-bj.ufileos.com', credentials: 'session' },
      },
    };
    writeFileSync(join(folder, '.vscode', 'rclone-devbox.json'), JSON.stringify(team, null, 2));
    const r = await cli(['doctor'], cliEnv(box, dir), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 2, r.stdout);
    assert.match(
      r.stdout,
      /^ok {3}workspace .*\(\.vscode\/settings\.json, \.vscode\/tasks\.json, \.vscode\/rclone-devbox\.json\)$/m,
    );
    const [drift, missing] = failures(r);
    assert.equal(
      drift,
      `FAIL remote s3: it differs from the team profile .vscode/rclone-devbox.json: endpoint is ${box.s3.endpoint} here, http://s3.team.example:9000 in the team profile — ` +
        'Apply the team profile: in the editor, "Rclone: Apply Team Profile"; from a shell: `rclone config update s3 endpoint http://s3.team.example:9000`.',
    );
    assert.equal(
      missing,
      `FAIL remote compshare: There is no remote called "compshare" in ${box.configFile}; the team profile ${join(folder, '.vscode', 'rclone-devbox.json')} names it — ` +
        'Add it: `rclone-devbox setup` in this folder, or in the editor "Rclone: Apply Team Profile" (both ask only for the secrets); by hand: ' +
        '`rclone config create compshare s3 provider Other endpoint internal.s3-cn-bj.ufileos.com`, then its keys and session token with `rclone config`, choosing e (Edit existing remote) (it asks for them).',
    );
    // The drift line comes with its remote's own checks, which still run.
    assert.match(r.stdout, /^ok {3}remote s3 \(s3, Other\) is in the config\nFAIL remote s3: /m);
    assert.match(r.stdout, /^ok {3}access to s3:models: listed in/m);

    // As the team describes it (a trailing slash is no difference): no problem, and said so for a remote no profile mounts.
    team.remotes.s3.endpoint = `${box.s3.endpoint}/`;
    const file = config(
      dir,
      s3Remote('compshare', box.s3.endpoint).replace('provider = Other', 'provider = Other\nsession_token = t'),
    );
    team.remotes.compshare.endpoint = box.s3.endpoint;
    writeFileSync(join(folder, '.vscode', 'rclone-devbox.json'), JSON.stringify(team, null, 2));
    const good = await cli(['doctor'], cliEnv(box, dir, { RCLONE_CONFIG: file }), 20_000, folder);
    assertShape(good);
    assert.equal(good.code, 0, good.stdout);
    assert.match(good.stdout, /^ok {3}remote compshare is as the team profile describes it$/m);
  });

  it('several problems at once: the exit status counts them (a missing remote, a cache disk too small)', async () => {
    const dir = fresh();
    const folder = join(dir, 'ws');
    mkdirSync(join(folder, '.vscode'), { recursive: true });
    const profiles = [
      { remote: 'nope:models', mountPoint: join(dir, 'a') },
      { remote: 's3:models', mountPoint: join(dir, 'b'), cacheDir: join(dir, 'vfs'), cacheMaxSize: '1000P' },
    ];
    writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'rclone.mounts': profiles }));
    const r = await cli(['doctor'], cliEnv(box, dir, { RCLONE_DEVBOX_FUSE_DEVICE: '/nonexistent' }), 20_000, folder);
    assertShape(r);
    assert.equal(r.code, 3, r.stdout);
    const f = failures(r);
    assert.match(f[0]!, /^FAIL FUSE device \/nonexistent: /);
    assert.match(
      f[1]!,
      /^FAIL remote nope: There is no remote called "nope" in \S+rclone\.conf — Add it with `rclone config`/,
    );
    assert.match(
      f[2]!,
      new RegExp(
        `^FAIL VFS cache ${dir}/vfs: only [\\d.]+ [KMGT]?B free, less than its cacheMaxSize 1000P \\(\\d+ TB\\) — Free space on that disk`,
      ),
    );
  });
});
