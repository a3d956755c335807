// Add, edit and remove remotes through the commands, and the log: the secret typed into the
// password box never shows up in the extension's log or in any other file of the window's logs.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { boxInfo } from './boxInfo';
import { after, before, describe, it } from 'mocha';
import { SECRET_ENV } from './boxInfo';
import { api, ScriptedUi, waitFor, withUi } from './util';

/**
 * s3rver knows the access key S3RVER but does not check v4 signatures: a unique secret to look for,
 * the runner's (which watches every process's argv and every log for it), else one of our own.
 */
const SECRET = process.env[SECRET_ENV] ?? `sekrit-${randomBytes(8).toString('hex')}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

describe('Remotes: add, edit, remove', () => {
  let original: string;

  before(async () => {
    original = await readFile(boxInfo().configFile, 'utf8');
  });

  after(async () => {
    await writeFile(boxInfo().configFile, original);
  });

  it('Add Remote asks name, provider, endpoint and keys (secret in a password box), saves and tries it', async () => {
    const ui = new ScriptedUi(['minio-test', 'MinIO', boxInfo().endpoint, 'Access keys', 'S3RVER', SECRET]);
    const name = await withUi(ui, () => vscode.commands.executeCommand('rclone.addRemote'));
    assert.equal(name, 'minio-test', JSON.stringify(ui.notes));
    assert.deepEqual(
      ui.asked.map((a) => a.kind),
      ['input', 'pick', 'input', 'pick', 'input', 'input'],
    );
    assert.ok(
      ui.asked[1]!.items!.includes('CompShare / UCloud US3') &&
        ui.asked[1]!.items!.includes('Aliyun OSS') &&
        ui.asked[1]!.items!.includes('Tencent COS'),
    );
    assert.deepEqual(ui.asked[3]!.items, [
      'Access keys',
      'Temporary keys with a session token (STS)',
      'Credentials from a command',
    ]);
    assert.equal(ui.asked[5]!.password, true, 'the secret is typed into a password box');
    assert.equal(ui.asked[4]!.password, undefined);
    const text = await readFile(boxInfo().configFile, 'utf8');
    assert.ok(text.startsWith(original), 'the other remotes are left byte for byte');
    assert.match(
      text,
      /\[minio-test\]\ntype = s3\nprovider = Minio\nendpoint = http:\/\/127\.0\.0\.1:\d+\naccess_key_id = S3RVER\nsecret_access_key = sekrit-/,
    );
    assert.deepEqual(
      ui.notes.map((n) => n.message),
      ['Added remote minio-test: 2 buckets found.'],
    );
    const { remotes } = await api();
    await waitFor('the new remote in the tree', async () =>
      (await remotes.tree.getChildren()).some((n) => n.id === 'minio-test:'),
    );
  });

  it('refuses a name that exists or that rclone would not accept', async () => {
    const ui = new ScriptedUi(['s3']);
    await withUi(ui, () => vscode.commands.executeCommand('rclone.addRemote'));
    assert.match(ui.errors()[0]?.message ?? '', /already a remote "s3"/);
    const bad = new ScriptedUi(['-bad name']);
    await withUi(bad, () => vscode.commands.executeCommand('rclone.addRemote'));
    assert.match(bad.errors()[0]?.message ?? '', /not a valid remote name/);
  });

  it('Edit Remote keeps the keys when left empty, and changes the endpoint', async () => {
    const before = await readFile(boxInfo().configFile, 'utf8');
    const ui = new ScriptedUi(['http://127.0.0.1:9', 'Access keys', '', '']);
    await withUi(ui, () => vscode.commands.executeCommand('rclone.editRemote', 'minio-test'));
    assert.equal(ui.asked[0]!.value, boxInfo().endpoint, 'the current endpoint is proposed');
    const text = await readFile(boxInfo().configFile, 'utf8');
    assert.equal(
      text,
      before.replace(boxInfo().endpoint + '\naccess_key_id = S3RVER', 'http://127.0.0.1:9\naccess_key_id = S3RVER'),
    );
    assert.ok(text.includes(`secret_access_key = ${SECRET}`));
    // The new endpoint is dead: the save says so, with the way back.
    const [error] = ui.errors();
    assert.match(error?.message ?? '', /cannot be reached|did not answer/);
    assert.ok(error!.actions.includes('Edit Remote'));
  });

  it('a session token: typed into a password box, written as session_token; keys again drop it', async () => {
    const token = `${SECRET}-token`;
    const ui = new ScriptedUi([
      'sts-test',
      'MinIO',
      boxInfo().endpoint,
      'Temporary keys with a session token (STS)',
      'S3RVER',
      SECRET,
      token,
      '', // when it expires: unknown
    ]);
    assert.equal(await withUi(ui, () => vscode.commands.executeCommand('rclone.addRemote')), 'sts-test');
    assert.equal(ui.asked[6]!.password, true, 'the token is typed into a password box');
    assert.match(ui.asked[7]!.prompt ?? '', /When do they expire\?/);
    assert.match(
      await readFile(boxInfo().configFile, 'utf8'),
      new RegExp(`\\[sts-test\\][^[]*session_token = ${token}`),
    );
    assert.deepEqual(
      ui.notes.map((n) => n.message),
      ['Added remote sts-test: 2 buckets found.'],
      's3rver takes any session token: listed',
    );
    const keys = new ScriptedUi([boxInfo().endpoint, 'Access keys', 'S3RVER', SECRET]);
    await withUi(keys, () => vscode.commands.executeCommand('rclone.editRemote', 'sts-test'));
    assert.equal(keys.asked[1]!.items!.length, 3);
    const text = await readFile(boxInfo().configFile, 'utf8');
    assert.ok(!text.includes('session_token'), 'the token went with the switch to keys');
    await withUi(new ScriptedUi([true]), () => vscode.commands.executeCommand('rclone.removeRemote', 'sts-test'));
  });

  it('a session token that expires: its mount is stopped 2 minutes before, uploads done, with Renew and Remount', async () => {
    const { svc } = await api();
    const mountPoint = join(boxInfo().mountRoot, 'sts-expiring');
    const remote = 'sts-exp:other-bucket/sts-expiry';
    // Two minutes and 8 seconds from now: the stop is due in 8 s.
    const expires = new Date(Date.now() + 128_000);
    const ui = new ScriptedUi([
      'sts-exp',
      'MinIO',
      boxInfo().endpoint,
      'Temporary keys with a session token (STS)',
      'S3RVER',
      SECRET,
      `${SECRET}-token`,
      expires.toISOString(),
    ]);
    try {
      await withUi(ui, async () => {
        assert.equal(await vscode.commands.executeCommand('rclone.addRemote'), 'sts-exp');
        assert.equal((await svc.expiry.get(boxInfo().configFile, 'sts-exp'))?.getTime(), expires.getTime());
        await vscode.commands.executeCommand('rclone.mount', { remote, mountPoint });
        assert.equal(svc.registry.find(mountPoint)?.state, 'mounted', JSON.stringify(ui.notes));
        await writeFile(join(mountPoint, 'take-1.wav'), 'take one');
        await waitFor(
          'the mount stopped before the expiry',
          async () => !(await svc.registry.refresh()).some((m) => m.mountPoint === mountPoint),
          30_000,
        );
        const stopped = await waitFor('the warning', () =>
          ui.notes.find((n) => n.actions.includes('Renew and Remount')),
        );
        assert.ok(Date.now() < expires.getTime() - 100_000, 'stopped about 2 minutes before the expiry');
        assert.match(
          stopped.message,
          /sts-expiring was unmounted, every upload done: the session token of sts-exp expires at/,
        );
        const rclone = await svc.rclone();
        assert.equal(
          await rclone.run(['cat', '--', 's3:other-bucket/sts-expiry/take-1.wav'], { timeoutMs: 30_000 }),
          'take one',
        );
        // Renew and Remount: new temporary keys and their expiry, then the same mount again.
        ui.answer('S3RVER', SECRET, `${SECRET}-token-2`, '1h');
        await ui.press(stopped.message, 'Renew and Remount');
        assert.equal(svc.registry.find(mountPoint)?.state, 'mounted', JSON.stringify(ui.notes));
        const renewed = await svc.expiry.get(boxInfo().configFile, 'sts-exp');
        assert.ok(
          renewed && Math.abs(renewed.getTime() - Date.now() - 3600e3) < 60_000,
          `renewed until ${renewed?.toISOString()}`,
        );
        assert.match(await readFile(boxInfo().configFile, 'utf8'), new RegExp(`session_token = ${SECRET}-token-2`));
      });
    } finally {
      await svc.registry.unmount(mountPoint, { force: true }).catch(() => undefined);
      const rclone = await svc.rclone();
      await rclone.run(['purge', '--', 's3:other-bucket/sts-expiry'], { timeoutMs: 30_000 }).catch(() => undefined);
      await withUi(new ScriptedUi([true]), () => vscode.commands.executeCommand('rclone.removeRemote', 'sts-exp'));
    }
    assert.equal(await svc.expiry.get(boxInfo().configFile, 'sts-exp'), undefined, 'forgotten with the remote');
  });

  it('credentials from a command: tried once, put in the AWS config file as our profile, renewed by rclone; removed with the remote', async () => {
    const dir = dirname(boxInfo().configFile);
    const calls = join(dir, 'credential-calls');
    const script = join(dir, 'sts broker.sh'); // a space: the command is a shell line, as for the AWS SDK
    await writeFile(
      script,
      `#!/bin/sh\necho call >> '${calls}'\nprintf '{"Version":1,"AccessKeyId":"S3RVER","SecretAccessKey":"${SECRET}","SessionToken":"t","Expiration":"%s"}\\n' "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"\n`,
      { mode: 0o700 },
    );
    const command = `'${script}' --role models`;
    const ui = new ScriptedUi(['cmd-test', 'MinIO', boxInfo().endpoint, 'Credentials from a command', command]);
    assert.equal(await withUi(ui, () => vscode.commands.executeCommand('rclone.addRemote')), 'cmd-test');
    assert.equal(ui.errors().length, 0, JSON.stringify(ui.notes));
    const conf = await readFile(boxInfo().configFile, 'utf8');
    assert.match(
      conf,
      /\[cmd-test\]\ntype = s3\nprovider = Minio\nendpoint = [^\n]+\nenv_auth = true\nprofile = rclone-devbox-cmd-test\n/,
    );
    const section = conf.slice(conf.indexOf('[cmd-test]')).split(/\n(?=\[)/)[0]!;
    assert.ok(!/access_key_id|secret_access_key|session_token/.test(section), `no key in its section: ${section}`);
    const aws = await readFile(process.env.AWS_CONFIG_FILE!, 'utf8');
    assert.equal(aws, `[profile rclone-devbox-cmd-test]\ncredential_process = ${command}\n`);
    assert.equal((statSync(process.env.AWS_CONFIG_FILE!).mode & 0o777).toString(8), '600');
    assert.ok(ui.notes.some((n) => /^The credentials command works: its credentials run until /.test(n.message)));
    assert.ok(
      ui.notes.some((n) => n.message === 'Added remote cmd-test: 2 buckets found.'),
      'rclone ran the command and listed',
    );
    assert.ok(
      (await readFile(calls, 'utf8')).split('\n').filter(Boolean).length >= 2,
      'tried by us, then run by rclone',
    );
    // Edit Remote proposes the command it has.
    const edit = new ScriptedUi([
      boxInfo().endpoint,
      'Credentials from a command',
      (a) => (a.value === command ? command : 'wrong'),
    ]);
    await withUi(edit, () => vscode.commands.executeCommand('rclone.editRemote', 'cmd-test'));
    assert.equal(edit.asked[1]!.items!.length, 3);
    assert.equal(edit.errors().length, 0, JSON.stringify(edit.notes));
    await withUi(new ScriptedUi([true]), () => vscode.commands.executeCommand('rclone.removeRemote', 'cmd-test'));
    assert.equal(await readFile(process.env.AWS_CONFIG_FILE!, 'utf8'), '', 'our profile went with the remote');
  });

  it('a credentials command that fails is said at once, and nothing is written', async () => {
    const before = await readFile(boxInfo().configFile, 'utf8');
    const ui = new ScriptedUi([
      'bad-cmd',
      'MinIO',
      boxInfo().endpoint,
      'Credentials from a command',
      `echo '{"Version":1}'; echo what-it-printed >&2; exit 3`,
    ]);
    await withUi(ui, () => vscode.commands.executeCommand('rclone.addRemote'));
    const [error] = ui.errors();
    assert.match(error?.message ?? '', /^The credentials command failed: exit code 3/);
    assert.ok(!JSON.stringify(ui.notes).includes('what-it-printed'), 'what it printed is not repeated');
    assert.equal(await readFile(boxInfo().configFile, 'utf8'), before);
  });

  it('Remove Remote asks first, then removes only that remote', async () => {
    const no = new ScriptedUi([false]);
    await withUi(no, () => vscode.commands.executeCommand('rclone.removeRemote', 'minio-test'));
    assert.match(await readFile(boxInfo().configFile, 'utf8'), /\[minio-test\]/);
    const yes = new ScriptedUi([true]);
    const removed = await withUi(yes, () => vscode.commands.executeCommand('rclone.removeRemote', 'minio-test'));
    assert.equal(removed, true);
    assert.equal(await readFile(boxInfo().configFile, 'utf8'), original);
  });

  it('no secret reaches the log: the secret typed into the password box', async () => {
    const { svc } = await api();
    svc.log.info(`a line that carries the typed secret ${SECRET} must be scrubbed`);
    const logsDir = dirname(svc.context.logUri.fsPath); // this window's extension host logs
    const files = await waitFor('the log file of the Rclone Dev Box channel', () => {
      const all = filesUnder(logsDir);
      return all.some((f) => readFileSync(f, 'utf8').includes('Added remote minio-test')) ? all : undefined;
    });
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      assert.ok(!text.includes(SECRET), `${f} holds the secret`);
    }
  });
});
