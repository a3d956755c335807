// The team profile in a real VS Code: a committed `.vscode/rclone-devbox.json` describes the remote
// "team" (the S3 server, MinIO, access keys), a mount profile of its bucket and a bring-up task.
// Checked: the notification that offers Set Up Remote when the file appears; Apply Team Profile
// asking only for the keys and writing [team] as the profile says; a local change of its endpoint
// reported as drift and put right without a question; the team task offered to VS Code's task list
// and brought up end to end (real FUSE mount, webui.py stand-in) after its one question. The file,
// the remote, the mount and the app are removed in `after`.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { after, before, describe, it } from 'mocha';
import { findApps, stopApp } from '../../src/core/app';
import { inspectLink } from '../../src/core/link';
import { freePort } from '../../src/core/processes';
import { fetchText } from '../helpers/http';
import { ROOT } from '../helpers/root';
import { boxInfo, SECRET_ENV } from './boxInfo';
import { api, cacheDir, type Asked, ScriptedUi, waitFor, withUi } from './util';

/** s3rver checks the access key only: a secret to look for (the runner's, which it watches for in every log). */
const SECRET = process.env[SECRET_ENV] ?? `sekrit-${randomBytes(8).toString('hex')}`;
const LABEL = 'webui (team)';
const REMOTE = 'team:index-tts-data';

const workspace = () => boxInfo().workspace;
const teamFile = () => join(workspace(), '.vscode', 'rclone-devbox.json');
/** The [team] section of rclone.conf, or undefined. */
const section = async () => {
  const conf = await readFile(boxInfo().configFile, 'utf8');
  const at = conf.indexOf('[team]\n');
  return at < 0 ? undefined : conf.slice(at).split(/\n(?=\[)/)[0];
};
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('Team profile', function () {
  this.timeout(90_000);
  const mountPoint = join(boxInfo().mountRoot, 'team');
  const endpoint = boxInfo().endpoint;
  let original: string;
  let port: number;
  let url: string;
  /** The notifications of the ScriptedUi that was in place when the file appeared. */
  let first: ScriptedUi;

  before(async () => {
    original = await readFile(boxInfo().configFile, 'utf8');
    port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    await copyFile(join(ROOT, 'test/fixtures/webui.py'), join(workspace(), 'webui.py'));
  });

  after(async () => {
    const { svc } = await api();
    for (const app of await findApps(svc.registry.stateDir, workspace())) await stopApp(app, svc.registry.stateDir);
    if (svc.registry.find(mountPoint))
      await withUi(new ScriptedUi(), () => vscode.commands.executeCommand('rclone.unmount', mountPoint, true));
    // The file and its folder at once, as a checkout of a branch without them: the watcher then
    // reports the folder alone.
    await rm(teamFile(), { force: true });
    await rmdir(dirname(teamFile())).catch(() => undefined); // only if the suite made it (nothing else in it)
    await waitFor('the team profile to be gone', async () => !(await svc.settings.teams()).length);
    await writeFile(boxInfo().configFile, original);
    await rm(join(workspace(), 'webui.py'), { force: true });
    await rm(join(workspace(), 'cache_hub'), { force: true });
  });

  it('a team profile that appears offers Set Up Remote for its missing remote (its mounts asked about first)', async () => {
    first = new ScriptedUi([(a: Asked) => a.kind === 'confirm']);
    await withUi(first, async () => {
      await mkdir(dirname(teamFile()), { recursive: true });
      await writeFile(
        teamFile(),
        // JSON with comments, as VS Code writes it.
        `// The box of this repository: everything but secrets.\n${JSON.stringify(
          {
            $schema: '../media/schema/rclone-devbox.schema.json',
            remotes: { team: { type: 's3', provider: 'Minio', endpoint, credentials: 'keys' } },
            'rclone.mounts': [{ remote: REMOTE, mountPoint, cacheMode: 'full', cacheDir: cacheDir('team'), warm: [] }],
            tasks: [
              {
                type: 'rclone-devbox',
                label: LABEL,
                mount: REMOTE,
                link: { cache_hub: 'cache_hub_v23' },
                prewarm: ['cache_hub'],
                prewarmContent: true,
                command: ['python', 'webui.py', '--listen', '--port', String(port)],
                readyUrl: url,
                env: { WEBUI_START_DELAY: '1' },
              },
            ],
          },
          null,
          2,
        )}\n`,
      );
      await waitFor('the notification about the remote "team"', () => first.notes.length > 0);
    });
    const message = `This repository's team profile uses the remote "team" (Minio, ${endpoint}). Set it up: one step for its credentials.`;
    assert.deepEqual(first.notes, [{ level: 'info', message, actions: ['Set Up Remote'] }]);
    assert.equal(first.asked.length, 1, JSON.stringify(first.asked));
    assert.match(
      first.asked[0]!.title ?? '',
      new RegExp(
        `mount ${escape(REMOTE)} on ${escape(mountPoint)}, as its team profile \\.vscode/rclone-devbox\\.json says`,
      ),
    );
    const { svc } = await api();
    assert.ok(
      svc.settings.profiles.some((p) => p.mountPoint === mountPoint && p.cacheMode === 'full'),
      'the approved team mount profile counts',
    );
  });

  it('Apply Team Profile (Set Up Remote) asks only for the keys and writes [team] as the profile says', async () => {
    assert.equal(await section(), undefined);
    const ui = new ScriptedUi(['S3RVER', SECRET]);
    const message = first.notes[0]!.message;
    // The notification's button, pressed with this person at the keyboard.
    await withUi(ui, () => first.press(message, 'Set Up Remote'));
    assert.deepEqual(
      ui.asked.map((a) => [a.title, a.prompt, a.password]),
      [
        ['Set Up team (1/2)', 'Access key ID', undefined],
        ['Set Up team (2/2)', 'Secret access key', true],
      ],
    );
    assert.deepEqual(ui.errors(), []);
    assert.match(
      (await section()) ?? '',
      new RegExp(
        `^\\[team\\]\\ntype = s3\\nprovider = Minio\\nendpoint = ${escape(endpoint)}\\naccess_key_id = S3RVER\\nsecret_access_key = ${escape(SECRET)}\\n`,
      ),
    );
    assert.ok((await readFile(boxInfo().configFile, 'utf8')).startsWith(original), 'the other remotes stay');
    assert.ok(
      ui.notes.some((n) => n.message === 'Added remote team: 2 buckets found.'),
      JSON.stringify(ui.notes),
    );
    const { remotes } = await api();
    await waitFor('the remote in the tree', async () =>
      (await remotes.tree.getChildren()).some((n) => n.id === 'team:'),
    );
  });

  it('a local change of its endpoint is reported as drift; Apply Team Profile puts it right without asking for keys', async () => {
    const ui = new ScriptedUi(); // any question would fail the test
    await withUi(ui, async () => {
      const conf = await readFile(boxInfo().configFile, 'utf8');
      await writeFile(
        boxInfo().configFile,
        conf.replace(`[team]\ntype = s3\nprovider = Minio\nendpoint = ${endpoint}\n`, (s) =>
          s.replace(endpoint, 'http://127.0.0.1:9'),
        ),
      );
      const message = `The remote "team" differs from this repository's team profile (team vs yours): endpoint: ${endpoint} vs http://127.0.0.1:9.`;
      const note = await waitFor('the drift warning', () => ui.notes.find((n) => n.message === message));
      assert.equal(note.level, 'warning');
      assert.deepEqual(note.actions, ['Apply Team Profile']);
      await ui.press(message, 'Apply Team Profile');
    });
    assert.deepEqual(ui.asked, []);
    assert.deepEqual(ui.errors(), []);
    const text = (await section()) ?? '';
    assert.ok(text.includes(`endpoint = ${endpoint}\n`), text);
    assert.ok(text.includes(`access_key_id = S3RVER\nsecret_access_key = ${SECRET}\n`), 'the keys are kept');
    assert.ok(
      ui.notes.some((n) => n.message === 'Updated remote team: 2 buckets found.'),
      JSON.stringify(ui.notes),
    );
  });

  it('its task is in the task list, and Bring Up Workspace runs it after its one question: mount, link, app', async () => {
    const { svc } = await api();
    const task = await waitFor('the team task in the task list', async () =>
      (await vscode.tasks.fetchTasks({ type: 'rclone-devbox' })).find((t) => t.name === LABEL),
    );
    assert.equal(task.source, 'rclone');
    assert.equal(task.isBackground, true);
    assert.equal(task.definition.mount, REMOTE);
    const ui = new ScriptedUi([true]);
    await withUi(ui, async () => {
      await vscode.commands.executeCommand('rclone.bringUp');
      await waitFor(
        'the ready notification',
        () => ui.notes.find((n) => n.message.startsWith(`${LABEL}: the app is ready at ${url}`)),
        60_000,
      );
    });
    assert.deepEqual(ui.errors(), []);
    assert.equal(ui.asked.length, 1, JSON.stringify(ui.asked));
    assert.match(
      ui.asked[0]!.title ?? '',
      new RegExp(
        `^The task "${escape(LABEL)}" in this repository's team profile \\(\\.vscode/rclone-devbox\\.json\\) asks Rclone Dev Box to mount ${escape(REMOTE)} on ${escape(mountPoint)} and run \`python webui\\.py --listen --port ${port}\``,
      ),
    );
    assert.equal(svc.registry.find(mountPoint)?.state, 'mounted', 'mounted where the team profile says');
    assert.equal((await inspectLink(join(workspace(), 'cache_hub'))).target, join(mountPoint, 'cache_hub_v23'));
    assert.match((await fetchText(url)) ?? '', /gpt\.pth/);
  });

  it('a profile that switches to a credentials command: Apply Team Profile runs it only once allowed, and writes our AWS profile', async () => {
    const awsConfig = process.env.AWS_CONFIG_FILE!;
    const awsBefore = await readFile(awsConfig, 'utf8').catch(() => '');
    const dir = dirname(boxInfo().configFile);
    const calls = join(dir, 'team-credential-calls');
    const script = join(dir, 'team broker.sh');
    await writeFile(
      script,
      `#!/bin/sh\necho call >> '${calls}'\nprintf '{"Version":1,"AccessKeyId":"S3RVER","SecretAccessKey":"${SECRET}","SessionToken":"t","Expiration":"%s"}\n' "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"\n`,
      { mode: 0o700 },
    );
    const command = `'${script}' --role models-read`;
    const profileText = await readFile(teamFile(), 'utf8');
    const ui = new ScriptedUi([false]); // the first time: not allowed
    try {
      await withUi(ui, async () => {
        await writeFile(
          teamFile(),
          profileText.replace(
            '"credentials": "keys"',
            `"credentials": "command",\n      "command": ${JSON.stringify(command)}`,
          ),
        );
        const note = await waitFor('the drift warning', () =>
          ui.notes.find((n) => n.message.startsWith('The remote "team" differs from this repository\'s team profile')),
        );
        assert.match(note.message, /credentials: command vs keys/);
        await ui.press(note.message, 'Apply Team Profile');
        assert.equal(ui.asked.length, 1);
        assert.match(
          ui.asked[0]!.title ?? '',
          new RegExp(`^The team profile runs \`${escape(command)}\` to get credentials for team\\. Allow\\?`),
        );
        assert.equal(await readFile(calls, 'utf8').catch(() => ''), '', 'not allowed: never run');
        assert.match((await section()) ?? '', /secret_access_key = /, 'not allowed: [team] as it was');
        // Allowed this time.
        ui.answer(true);
        await ui.press(note.message, 'Apply Team Profile');
      });
      assert.deepEqual(ui.errors(), []);
      const text = (await section()) ?? '';
      assert.match(text, /\nenv_auth = true\nprofile = rclone-devbox-team\n/);
      assert.ok(!/access_key_id|secret_access_key|session_token/.test(text), `no key left in [team]: ${text}`);
      assert.ok(
        (await readFile(awsConfig, 'utf8')).includes(`[profile rclone-devbox-team]\ncredential_process = ${command}\n`),
      );
      assert.ok(
        ui.notes.some((n) => n.message === 'Updated remote team: 2 buckets found.'),
        JSON.stringify(ui.notes),
      );
      assert.ok(
        (await readFile(calls, 'utf8')).split('\n').filter(Boolean).length >= 2,
        'tried by us, then run by rclone',
      );
    } finally {
      await writeFile(teamFile(), profileText);
      await writeFile(awsConfig, awsBefore);
      await rm(calls, { force: true });
      await rm(script, { force: true });
    }
  });
});
