import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { controlledEnv, findBinary, parseVersion, Rclone } from '../../src/core/rclone';
import { type Box, startBox, tempDir } from '../helpers/fixtures';

describe('rclone binary', () => {
  it('is found on PATH and its version parsed', async () => {
    const rclone = await Rclone.locate();
    assert.match(rclone.path, /\/rclone$/);
    assert.ok(rclone.version.major >= 1 && rclone.version.minor >= 60, rclone.version.text);
  });

  it('parses version lines of release, DEV and beta builds', () => {
    assert.deepEqual(parseVersion('rclone v1.60.1-DEV\n- os/version: debian'), {
      text: 'v1.60.1-DEV',
      major: 1,
      minor: 60,
      patch: 1,
    });
    assert.deepEqual(parseVersion('rclone v1.71.0-beta.8858.abc\n'), {
      text: 'v1.71.0-beta.8858.abc',
      major: 1,
      minor: 71,
      patch: 0,
    });
    assert.equal(parseVersion('bash: rclone: command not found'), undefined);
  });

  it('is reported missing when not on PATH, with an install hint', async () => {
    const empty = tempDir();
    try {
      await assert.rejects(Rclone.locate({ env: { PATH: empty.path } }), (e) => {
        assert.ok(isRcloneError(e, 'RcloneMissing'));
        assert.match(e.fix, /Install or Update rclone/);
        return true;
      });
      assert.throws(
        () => findBinary('relative/rclone', process.env),
        (e) => isRcloneError(e, 'RcloneMissing'),
      );
    } finally {
      empty.dispose();
    }
  });

  // Boundary fake: no rclone older than 1.60 can be installed here, so a script prints an old
  // version line. Everything after the version check is the real code path.
  it('refuses a version older than 1.60, naming both versions', async () => {
    const dir = tempDir();
    try {
      const fake = join(dir.path, 'rclone');
      writeFileSync(fake, '#!/bin/sh\necho "rclone v1.55.2"\n');
      chmodSync(fake, 0o755);
      await assert.rejects(Rclone.locate({ path: fake }), (e) => {
        assert.ok(isRcloneError(e, 'RcloneTooOld'));
        assert.match(e.message, /1\.55\.2.*1\.60\.0/);
        return true;
      });
    } finally {
      dir.dispose();
    }
  });
});

describe('controlled environment', () => {
  it('moves a usable AWS_CA_BUNDLE to RCLONE_CA_CERT for rclone before 1.69, with the reason logged', () => {
    const logged: string[] = [];
    const log = { info: (m: string) => logged.push(m), warn: (m: string) => logged.push(m), error() {} };
    const env = controlledEnv(
      { AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt', HOME: '/root' },
      { major: 1, minor: 60, patch: 1 },
      log,
    );
    assert.equal(env.AWS_CA_BUNDLE, undefined);
    assert.equal(env.RCLONE_CA_CERT, '/etc/ssl/certs/ca-certificates.crt');
    assert.equal(env.HOME, '/root');
    assert.match(logged.join('\n'), /unsupported transport/);
  });

  it('drops an AWS_CA_BUNDLE that points at nothing, and keeps a usable one for newer rclone', () => {
    assert.equal(
      controlledEnv({ AWS_CA_BUNDLE: '/nonexistent/ca.pem' }, { major: 1, minor: 70, patch: 0 }).AWS_CA_BUNDLE,
      undefined,
    );
    assert.equal(
      controlledEnv({ AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt' }, { major: 1, minor: 70, patch: 0 })
        .AWS_CA_BUNDLE,
      '/etc/ssl/certs/ca-certificates.crt',
    );
  });
});

describe('running rclone', () => {
  let box: Box;
  before(async () => {
    box = await startBox(['models']);
  });
  after(() => box.dispose());

  it('talks to S3 even though the parent environment sets AWS_CA_BUNDLE', async () => {
    const rclone = await Rclone.locate({
      configFile: box.configFile,
      env: { ...process.env, AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt' },
    });
    const out = await rclone.run(['lsjson', '--', 's3:'], { timeoutMs: 20_000 });
    assert.match(out, /"Name":"models"/);
  });

  it('kills the child when the signal aborts, and says Cancelled', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const pending = box.rclone.run(['test', 'info', '--check-length', '--', 's3:models/cancel'], {
      signal: ac.signal,
      timeoutMs: 60_000,
    });
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(pending, (e) => isRcloneError(e, 'Cancelled'));
    assert.ok(Date.now() - started < 5_000, 'cancel took too long');
  });

  it('gives up at the timeout with a Timeout error', async () => {
    await assert.rejects(
      box.rclone.run(['test', 'info', '--check-length', '--', 's3:models/slow'], { timeoutMs: 500 }),
      (e) => isRcloneError(e, 'Timeout'),
    );
  });
});
