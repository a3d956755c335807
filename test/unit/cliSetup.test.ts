// `rclone-devbox setup`, the team profile's one secrets step from a shell, on a box as fresh as it
// gets: a HOME of the test's own (XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME under it) with no
// rclone.conf and no AWS config, a workspace whose .vscode/rclone-devbox.json names the remote and
// mounts its bucket, the real CLI, real rclone, a real S3 server (s3rver) and real FUSE. Profile →
// fresh config → mount: setup reads the keys from stdin, then `up --no-app` mounts the bucket and a
// file put there beforehand is read through the mount. Every mount and process is ended in
// afterEach, even when a test fails.
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { commandValues, keyValues, teamRemoteValues } from '../../src/core/teamProfile';
import { CLI, type CliRun } from '../helpers/cli';
import { ACCESS_KEY, type Box, putObjects, SECRET_KEY, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp } from '../helpers/mounts';

const BUCKET = 'index-tts-data';
/** A session token as an STS console gives one (s3rver does not look at it): never to be shown. */
const TOKEN = 'FQoGZXIvYXdzEXAMPLEtokenSECRET';
/** A secret key typed at the terminal (s3rver checks only V2 signatures: under V4 any secret will do). */
const TTY_SECRET = 'typed-secret-never-echoed-8642';

describe('rclone-devbox setup', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  before(async () => {
    // The S3 server, and a config of the test's own (not the fresh HOME's) to put the objects with.
    box = await startBox([BUCKET]);
    await putObjects(box, BUCKET, { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'weights put there beforehand' });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    if (work) await cleanUp([work.path]);
    work?.dispose();
    work = undefined;
  });

  /** A fresh HOME and a workspace whose team profile has `remotes` and mounts `<first remote>:BUCKET`. */
  function freshBox(remotes: Record<string, Record<string, string>>) {
    work = tempDir('rdb-clisetup-');
    const home = join(work.path, 'home');
    const ws = join(work.path, 'ws');
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    mkdirSync(home);
    const mountPoint = join(work.path, 'mnt', BUCKET);
    const remote = Object.keys(remotes)[0]!;
    const profile = {
      remotes,
      'rclone.mounts': [
        { remote: `${remote}:${BUCKET}`, mountPoint, cacheMode: 'writes', cacheDir: join(work.path, 'vfs') },
      ],
    };
    writeFileSync(join(ws, '.vscode', 'rclone-devbox.json'), JSON.stringify(profile, null, 2));
    const env: Record<string, string> = {
      PATH: process.env.PATH!,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_STATE_HOME: join(home, '.local', 'state'),
      XDG_CACHE_HOME: join(home, '.cache'),
      LANG: 'C.UTF-8',
    };
    return {
      home,
      ws,
      mountPoint,
      env,
      conf: join(home, '.config', 'rclone', 'rclone.conf'),
      awsConfig: join(home, '.aws', 'config'),
    };
  }

  /** The CLI in `cwd` with `input` on stdin (none: stdin is /dev/null); no secret may reach its output. */
  async function run(args: string[], f: { env: Record<string, string>; ws: string }, input?: string): Promise<CliRun> {
    const t0 = performance.now();
    const r = await execa(process.execPath, [CLI, ...args], {
      env: f.env,
      cwd: f.ws,
      extendEnv: false,
      reject: false,
      timeout: 60_000,
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
    });
    const run = { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - t0 };
    for (const secret of [SECRET_KEY, ACCESS_KEY, TOKEN, TTY_SECRET])
      assert.ok(!`${run.stdout}${run.stderr}`.includes(secret), `a secret reached the output of ${args.join(' ')}`);
    return run;
  }

  const mounted = async (dir: string) => (await readRcloneMounts()).some((e) => e.mountPoint === dir);
  /** The lines of remote `name`'s section of an rclone.conf text. */
  const section = (text: string, name: string) =>
    (new RegExp(`^\\[${name}\\]\\n((?:[^[\\n].*\\n?)*)`, 'm').exec(text)?.[1] ?? '').split('\n').filter(Boolean);

  it('the values a team remote becomes (core/teamProfile.ts: what the editor’s Set Up Remote writes): undefined removes a key, a missing one keeps it', () => {
    const team = { type: 's3' as const, provider: 'Other', endpoint: 'http://e', credentials: 'keys' as const };
    assert.deepEqual(teamRemoteValues(team), { provider: 'Other', endpoint: 'http://e' });
    assert.deepEqual(keyValues('keys', { keyId: ' AKID ', secret: 's e' }), {
      access_key_id: 'AKID',
      secret_access_key: 's e',
      session_token: undefined,
      env_auth: undefined,
      profile: undefined,
    });
    assert.deepEqual(keyValues('session', { keyId: 'AKID', secret: 's', token: ' t ' }), {
      access_key_id: 'AKID',
      secret_access_key: 's',
      session_token: 't',
      env_auth: undefined,
      profile: undefined,
    });
    // An edit that leaves a value empty keeps the current one: the key is not there at all.
    assert.deepEqual(Object.keys(keyValues('session', { keyId: '', secret: '', token: '' })), ['env_auth', 'profile']);
    assert.deepEqual(commandValues({ endpoint: 'http://e' }), {
      endpoint: 'http://e',
      env_auth: 'true',
      access_key_id: undefined,
      secret_access_key: undefined,
      session_token: undefined,
    });
  });

  it('profile → fresh config → mount on a clean HOME: the keys from stdin, then `up --no-app` mounts it and the bucket’s file is read through the mount', async () => {
    const endpoint = box.s3.endpoint;
    const f = freshBox({ team: { type: 's3', provider: 'Other', endpoint, credentials: 'keys' } });
    assert.equal(existsSync(f.conf), false, 'no rclone.conf to begin with');

    // Before setup, `up` says the remote is missing, and names `rclone-devbox setup` first.
    const early = await run(['up', '--no-app'], f);
    assert.equal(early.code, 1, early.stdout);
    assert.equal(
      early.stderr.trim().split('\n')[1],
      'Add it: `rclone-devbox setup` in this folder, or in the editor "Rclone: Apply Team Profile" (both ask only for the secrets); ' +
        `by hand: \`rclone config create team s3 provider Other endpoint ${endpoint}\`, then its keys with \`rclone config\`, choosing e (Edit existing remote) (it asks for them).`,
    );
    assert.equal(await mounted(f.mountPoint), false);

    const setup = await run(['setup'], f, `${ACCESS_KEY}\n${SECRET_KEY}\n`);
    assert.equal(setup.code, 0, setup.stderr);
    assert.equal(setup.stdout, 'Added remote team: 1 bucket found.');
    assert.equal(setup.stderr, '', 'no prompt when stdin is not a terminal');
    // Written as the team profile says, the keys in it, the file only the user's.
    assert.deepEqual(section(readFileSync(f.conf, 'utf8'), 'team'), [
      'type = s3',
      'provider = Other',
      `endpoint = ${endpoint}`,
      `access_key_id = ${ACCESS_KEY}`,
      `secret_access_key = ${SECRET_KEY}`,
    ]);
    assert.equal((statSync(f.conf).mode & 0o777).toString(8), '600');

    const up = await run(['up', '--no-app'], f);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`^mount {3}team:${BUCKET} on ${f.mountPoint} \\(rclone pid \\d+`, 'm'));
    assert.ok(await mounted(f.mountPoint));
    assert.equal(readFileSync(join(f.mountPoint, 'cache_hub', 'gpt.pth'), 'utf8'), 'weights put there beforehand');
    assert.equal(readFileSync(join(f.ws, 'cache_hub', 'gpt.pth'), 'utf8'), 'weights put there beforehand');

    // Again: the remote is there and left as it is; nothing is asked, nothing to do.
    const again = await run(['setup'], f);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.stdout.split('\n'), [
      `Remote team is already in ${f.conf}: left as it is (\`rclone-devbox doctor\` compares it with the team profile).`,
      `Nothing to set up: every remote of the team profile is in ${f.conf}.`,
    ]);
  });

  it('stdin that ends before the last value: said, with what to give, and nothing is written', async () => {
    const f = freshBox({
      sts: { type: 's3', provider: 'Other', endpoint: box.s3.endpoint, credentials: 'session' },
    });
    const r = await run(['setup'], f, `${ACCESS_KEY}\n${SECRET_KEY}\n`);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const [message, fix] = r.stderr.split('\n');
    assert.equal(message, 'Session token for sts: stdin has no more lines.');
    assert.match(fix!, /one value per line on stdin.*access key ID.*secret access key.*session token/);
    assert.equal(existsSync(f.conf), false);
    // And an empty line where a value is required.
    const empty = await run(['setup'], f, `${ACCESS_KEY}\n\n`);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^Secret access key for sts: its line on stdin is empty\.\n/);
    assert.equal(existsSync(f.conf), false);
  });

  it('--config FILE: the remotes of that file (a team profile kept elsewhere); a folder without one: said, exit status 1', async () => {
    const f = freshBox({ team: { type: 's3', provider: 'Other', endpoint: box.s3.endpoint, credentials: 'keys' } });
    const elsewhere = join(work!.path, 'team.json');
    writeFileSync(
      elsewhere,
      JSON.stringify({ remotes: { other: { type: 's3', endpoint: box.s3.endpoint, credentials: 'keys' } } }),
    );
    const r = await run(['setup', '--config', elsewhere], f, `${ACCESS_KEY}\n${SECRET_KEY}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Added remote other: 1 bucket found.');
    const conf = readFileSync(f.conf, 'utf8');
    assert.deepEqual(section(conf, 'other').slice(0, 2), ['type = s3', `endpoint = ${box.s3.endpoint}`]);
    assert.deepEqual(section(conf, 'team'), [], "the folder's own team profile was not read");

    const bare = join(work!.path, 'bare');
    mkdirSync(bare);
    const none = await run(['setup'], { ...f, ws: bare });
    assert.equal(none.code, 1);
    assert.equal(none.stdout, '');
    assert.match(
      none.stderr,
      new RegExp(`^There is no team profile in ${bare} \\(\\.vscode/rclone-devbox\\.json\\): nothing to set up\\.\n`),
    );
  });

  describe('a credentials command from the repository', () => {
    /** A credential_process script that counts its runs; the keys it prints are the server's. */
    function broker(dir: string) {
      const calls = join(dir, 'calls');
      const script = join(dir, 'sts-broker.sh');
      writeFileSync(
        script,
        `#!/bin/sh\necho run >> '${calls}'\n` +
          `printf '{"Version":1,"AccessKeyId":"${ACCESS_KEY}","SecretAccessKey":"${SECRET_KEY}","SessionToken":"${TOKEN}","Expiration":"%s"}\\n' ` +
          `"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"\n`,
        { mode: 0o700 },
      );
      return {
        script,
        runs: () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0),
      };
    }

    it('without --yes and no terminal to ask: refused with what to do, the command never run, nothing written', async () => {
      const f = freshBox({
        cmd: {
          type: 's3',
          provider: 'Other',
          endpoint: box.s3.endpoint,
          credentials: 'command',
          command: 'placeholder',
        },
        team: { type: 's3', provider: 'Other', endpoint: box.s3.endpoint, credentials: 'keys' },
      });
      const b = broker(work!.path);
      const file = join(f.ws, '.vscode', 'rclone-devbox.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('placeholder', b.script));
      // The keys of the other remote are there on stdin: still nothing at all is done.
      const r = await run(['setup'], f, `${ACCESS_KEY}\n${SECRET_KEY}\n`);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.deepEqual(r.stderr.split('\n'), [
        `The team profile runs \`${b.script}\` to get credentials for cmd: a command from the repository runs only once you allow it.`,
        "Nothing was written. Run again with --yes to allow the team profile's credentials commands, or in a terminal to be asked.",
      ]);
      assert.equal(b.runs(), 0, 'the command never ran');
      assert.equal(existsSync(f.conf), false, 'no rclone.conf');
      assert.equal(existsSync(f.awsConfig), false, 'no AWS config');
    });

    it('--yes: tried once, put in the AWS config file as Add Remote does, the remote written with env_auth and the profile, then listed', async () => {
      const f = freshBox({
        cmd: {
          type: 's3',
          provider: 'Other',
          endpoint: box.s3.endpoint,
          credentials: 'command',
          command: 'placeholder',
        },
      });
      const b = broker(work!.path);
      const file = join(f.ws, '.vscode', 'rclone-devbox.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('placeholder', b.script));
      const r = await run(['setup', '--yes'], f);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.equal(lines[0], `Running \`${b.script}\` for the credentials of cmd (allowed with --yes).`);
      assert.match(lines[1]!, /^The credentials command works: its credentials run until .+, and rclone runs it again/);
      assert.equal(lines[2], 'Added remote cmd: 1 bucket found.');
      assert.equal(r.stderr, '');
      assert.ok(b.runs() >= 1, 'the command ran');
      assert.equal(
        readFileSync(f.awsConfig, 'utf8'),
        `[profile rclone-devbox-cmd]\ncredential_process = ${b.script}\n`,
      );
      assert.deepEqual(section(readFileSync(f.conf, 'utf8'), 'cmd'), [
        'type = s3',
        'provider = Other',
        `endpoint = ${box.s3.endpoint}`,
        'env_auth = true',
        'profile = rclone-devbox-cmd',
      ]);
      // And it mounts: rclone gets its credentials from the command.
      const up = await run(['up', '--no-app'], f);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(readFileSync(join(f.mountPoint, 'cache_hub', 'gpt.pth'), 'utf8'), 'weights put there beforehand');
    });
  });

  it('at a terminal: the key ID is echoed, secrets never (typed or pasted ahead), an empty secret is asked again; the expiry is asked (again when not a time) and kept; a command is asked about', async (t) => {
    const python = await execa('python3', ['-c', 'import pty'], { reject: false, stdin: 'ignore' });
    if (python.exitCode !== 0) return t.skip('python3 (for a pseudo-terminal) is not installed');
    const f = freshBox({
      sts: { type: 's3', provider: 'Other', endpoint: box.s3.endpoint, credentials: 'session' },
      cmd: { type: 's3', provider: 'Other', endpoint: box.s3.endpoint, credentials: 'command', command: 'false' },
    });
    // A pseudo-terminal: each answer is typed once the text before it is shown, as a person would.
    const driver = join(work!.path, 'drive_pty.py');
    writeFileSync(
      driver,
      `import json, os, pty, select, sys, time
node, cli, cwd = sys.argv[1:4]
script = sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execv(node, [node, cli, 'setup'])
out = b''
def read(timeout):
    global out
    r, _, _ = select.select([fd], [], [], max(timeout, 0))
    if not r: return False
    try: chunk = os.read(fd, 4096)
    except OSError: return None
    if not chunk: return None
    out += chunk
    return True
pos = 0
for i in range(0, len(script), 2):
    end = time.time() + 30
    while out.find(script[i].encode(), pos) < 0:
        if time.time() > end or read(end - time.time()) is None: sys.exit('no %r after %r' % (script[i], out[pos:]))
    pos = out.find(script[i].encode(), pos) + len(script[i])
    time.sleep(0.05)
    os.write(fd, script[i + 1].encode())
while read(30): pass
_, status = os.waitpid(pid, 0)
print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'out': out.decode('utf8', 'replace')}))
`,
    );
    const answers = [
      // the key ID and an empty secret pasted at once: the empty one is refused and asked again
      ['Access key ID: ', `${ACCESS_KEY}\r\r`],
      ['Required', ''],
      // the secret and the session token pasted at once: neither is ever shown
      ['Secret access key: ', `${TTY_SECRET}\r${TOKEN}\r`],
      // when the token expires: what is not a time is asked again
      ['Expires (', 'soon\r'],
      ['Expires (', '1h\r'],
      ['Allow? [y/N] ', 'n\r'],
    ].flat();
    const r = await execa('python3', [driver, process.execPath, CLI, f.ws, ...answers], {
      env: { ...f.env, TERM: 'xterm' },
      extendEnv: false,
      reject: false,
      timeout: 90_000,
      stdin: 'ignore',
    });
    assert.equal(r.exitCode, 0, String(r.stderr));
    const { code, out } = JSON.parse(String(r.stdout)) as { code: number; out: string };
    // What the terminal showed, without readline's cursor movements.
    // eslint-disable-next-line no-control-regex
    const shown = out.replace(/\x1b\[\d*[A-Za-z]/g, '').replace(/\r/g, '');
    assert.equal(code, 1, `${shown}\n(exit status 1: the command was not allowed, so not everything is set up)`);
    assert.ok(!shown.includes(TTY_SECRET), `the secret key was echoed: ${shown}`);
    assert.ok(!shown.includes(TOKEN), `the session token was echoed: ${shown}`);
    const expiresPrompt = 'Expires (e.g. 1h, 90m, 17:30 or 2026-11-30T09:00Z; empty: unknown): ';
    assert.deepEqual(shown.split('\n').slice(0, 10), [
      'This repository\'s team profile uses the remote "sts" (Other, ' +
        `${box.s3.endpoint}). Set it up: one step for its credentials.`,
      `Access key ID: ${ACCESS_KEY}`,
      'Secret access key: ',
      'Required',
      'Secret access key: ',
      'Session token: ',
      `${expiresPrompt}soon`,
      '"soon" is not a time. Give a duration such as 1h or 90m, a time such as 17:30, or a date and time such as 2026-11-30T09:00Z.',
      `${expiresPrompt}1h`,
      'Added remote sts: 1 bucket found.',
    ]);
    // Where the editor looks to stop the remote's mounts before the token runs out: an hour from the answer.
    const expiryDir = join(f.env.XDG_STATE_HOME!, 'rclone-devbox', 'expiry');
    const entries = readdirSync(expiryDir).map(
      (n) =>
        JSON.parse(readFileSync(join(expiryDir, n), 'utf8')) as { remote: string; configFile: string; expires: string },
    );
    assert.deepEqual(
      entries.map((e) => [e.remote, e.configFile]),
      [['sts', f.conf]],
    );
    const inMs = Date.parse(entries[0]!.expires) - Date.now();
    assert.ok(inMs > 55 * 60_000 && inMs <= 60 * 60_000, `expires in ${Math.round(inMs / 60_000)} min`);
    assert.match(
      shown,
      /The command comes from the repository \(\.vscode\/rclone-devbox\.json\): allow it only if you trust it/,
    );
    assert.match(shown, /The team profile runs `false` to get credentials for cmd\. Allow\? \[y\/N\] n\n/);
    assert.match(shown, /Left cmd out: its credentials command was not allowed\./);
    const conf = readFileSync(f.conf, 'utf8');
    assert.deepEqual(section(conf, 'sts').slice(-3), [
      `access_key_id = ${ACCESS_KEY}`,
      `secret_access_key = ${TTY_SECRET}`,
      `session_token = ${TOKEN}`,
    ]);
    assert.deepEqual(section(conf, 'cmd'), [], 'the remote whose command was not allowed was not written');
    assert.equal(existsSync(f.awsConfig), false);
  });
});
