// Short-lived credentials from a command (AWS credential_process), on real parts: our profile in an
// AWS config file of the test's own, a real rclone mount of a remote with env_auth and that profile,
// the local S3 server. s3rver takes any session token and cannot expire one, so renewal is proven by
// what a real expiry does to the AWS SDK inside rclone: the credentials say they run out in 12 s,
// the command counts its runs, and the mount must list and upload after they ran out, having run
// the command again.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  credentialProcessOf,
  profileFor,
  removeProfile,
  setCredentialProcess,
  tryCredentialProcess,
} from '../../src/core/awsConfig';
import { parseRemotes } from '../../src/core/config';
import { isRcloneError } from '../../src/core/errors';
import { listFolder } from '../../src/core/listing';
import { MountRegistry } from '../../src/core/mounts';
import { Rclone } from '../../src/core/rclone';
import { type Box, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, waitFor } from '../helpers/mounts';

const LIFETIME_S = 12;

describe('short-lived credentials from a command (credential_process)', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let calls: string;
  let script: string;
  let registry: MountRegistry | undefined;

  before(async () => {
    box = await startBox(['models']);
    work = tempDir('rdb-sts-');
    env = { ...process.env, AWS_CONFIG_FILE: join(work.path, 'aws', 'config') };
    calls = join(work.path, 'calls');
    script = join(work.path, 'broker $(not run).sh'); // the command is a shell line: quoted, as a user would
    writeFileSync(
      script,
      `#!/bin/sh\necho "$(date +%s)" >> '${calls}'\n` +
        `printf '{"Version":1,"AccessKeyId":"S3RVER","SecretAccessKey":"S3RVER","SessionToken":"tok-%s","Expiration":"%s"}\\n' ` +
        `"$(date +%s%N)" "$(date -u -d '+${LIFETIME_S} seconds' +%Y-%m-%dT%H:%M:%SZ)"\n`,
      { mode: 0o700 },
    );
  });

  after(async () => {
    registry?.dispose();
    await cleanUp([work.path]);
    work.dispose();
    await box.dispose();
  });

  const runs = () => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0);

  it('our profile goes into the AWS config file beside the user’s, 0600, and comes out again leaving theirs', async () => {
    const file = env.AWS_CONFIG_FILE!;
    const theirs = '# my own profiles\n[profile work]\nregion = eu-west-1\n';
    await setCredentialProcess(env, profileFor('team'), 'true'); // creates the folder and the file
    await writeFile(file, theirs + readFileSync(file, 'utf8'));
    await setCredentialProcess(env, profileFor('team'), `'${script}'`);
    assert.equal(
      readFileSync(file, 'utf8'),
      `${theirs}[profile rclone-devbox-team]\ncredential_process = '${script}'\n`,
    );
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    assert.equal(await credentialProcessOf(env, profileFor('team')), `'${script}'`);
    await removeProfile(env, profileFor('team'));
    await removeProfile(env, 'work'); // not ours: never touched
    assert.equal(readFileSync(file, 'utf8'), theirs);
    assert.notEqual(profileFor('a b'), profileFor('a-b'), 'names that differ only in what a profile cannot hold');
  });

  it('the command is tried as the SDK runs it; a failure says what is wrong without repeating its output', async () => {
    const { expires } = await tryCredentialProcess(`'${script}'`, env);
    assert.ok(expires && expires.getTime() > Date.now() && expires.getTime() < Date.now() + 60_000);
    for (const [command, why] of [
      ['echo not json', /did not print JSON/],
      [`echo '{"Version":1,"AccessKeyId":"A"}'`, /lacks SecretAccessKey/],
      [
        `echo '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"B","Expiration":"2001-01-01T00:00:00Z"}'`,
        /already expired/,
      ],
      ['echo secret-words >&2; exit 4', /exit code 4/],
    ] as const) {
      const e = await tryCredentialProcess(command, env).catch((x: unknown) => x);
      assert.ok(isRcloneError(e, 'AuthFailed'), String(e));
      assert.match(e.message, why);
      assert.ok(!e.message.includes('secret-words') && !String(e.detail ?? '').includes('secret-words'));
    }
  });

  it(`a mount outlives its ${LIFETIME_S}-second credentials: rclone runs the command again, and keeps listing and uploading`, async () => {
    const profile = profileFor('sts');
    await setCredentialProcess(env, profile, `'${script}'`);
    appendFileSync(
      box.configFile,
      `\n[sts]\ntype = s3\nprovider = Other\nenv_auth = true\nprofile = ${profile}\nendpoint = ${box.s3.endpoint}\n`,
    );
    const sts = parseRemotes(readFileSync(box.configFile, 'utf8')).find((r) => r.name === 'sts');
    assert.deepEqual([sts?.credentials, sts?.profile], ['command', profile]);
    const rclone = await Rclone.locate({ configFile: box.configFile, env });
    registry = new MountRegistry(rclone, { stateDir: join(work.path, 'state') });
    const mountPoint = join(work.path, 'mnt');
    const m = await registry.mount({
      remote: 'sts:models',
      mountPoint,
      cacheDir: join(work.path, 'cache'),
      cacheMode: 'writes',
      dirCacheTime: '1s', // every listing below goes to S3 again, with whatever credentials rclone has then
    });
    assert.equal(m.state, 'mounted');
    await writeFile(join(mountPoint, 'before.txt'), 'written with the first credentials\n');
    const first = runs();
    assert.ok(first >= 1, 'rclone ran the command');
    await delay((LIFETIME_S + 3) * 1000); // past their expiry
    await writeFile(join(mountPoint, 'after.txt'), 'written after they ran out\n');
    assert.ok(readdirSync(mountPoint).includes('before.txt'), 'still lists');
    // Uploaded (write-back 5 s), seen by a separate rclone with the long-lived keys of the remote "s3".
    await waitFor(async () => {
      const page = await listFolder(box.rclone, 's3:models', { timeoutMs: 15_000 });
      const names = page.entries.map((e) => e.name);
      return names.includes('after.txt') && names.includes('before.txt');
    }, 45_000);
    assert.ok(runs() > first, `the command ran again after its credentials expired (${first} → ${runs()} runs)`);
    await registry.unmount(mountPoint);
  });
});
