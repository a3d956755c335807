// Installing rclone without sudo, against a local HTTP server that stands in for rclone's download
// site (named as such: the real one is not reachable from tests). It serves a release-shaped
// archive built from the rclone on this machine (rclone-v<version>-<platform>.zip, with the binary
// in rclone-v<version>-<platform>/rclone), that release's SHA256SUMS and version.txt, and can
// corrupt, cut or slow what it sends. Checked: install, verify, use; a corrupted archive and a
// wrong checksum refused with nothing left; a cut download continued with a Range request; cancel
// leaves nothing; an rclone on PATH untouched; an update replacing only our binary, by rename.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { installRclone, platformName, proxyFor, unzipOne } from '../../src/core/install';
import { Rclone } from '../../src/core/rclone';
import { tempDir } from '../helpers/fixtures';
import { type ReleaseSite, startReleaseSite } from '../helpers/releaseSite';

describe('install rclone into our own folder (a local stand-in for downloads.rclone.org)', () => {
  let work: ReturnType<typeof tempDir>;
  let site: ReleaseSite;

  before(async () => {
    work = tempDir('rdb-install-');
    site = await startReleaseSite();
  });
  after(async () => {
    await site?.close();
    work?.dispose();
  });

  const fresh = (name: string) => {
    const dir = join(work.path, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const reset = () => site.reset();

  it('installs the newest version: downloaded, checked, only the binary unpacked, executable, and it runs', async () => {
    reset();
    const dir = fresh('ok');
    const seen: number[] = [];
    const r = await installRclone({ base: site.base, dir, onProgress: (b) => seen.push(b) });
    assert.equal(r.version, site.version);
    assert.equal(r.path, join(dir, 'rclone'));
    assert.equal(r.downloaded, site.archive.length);
    assert.equal(seen.at(-1), site.archive.length);
    assert.deepEqual(readdirSync(dir), ['rclone'], 'only the binary: no archive, no README, no temp');
    assert.equal(statSync(r.path).mode & 0o777, 0o755);
    const used = await Rclone.locate({ path: r.path });
    assert.equal(`${used.version.major}.${used.version.minor}.${used.version.patch}`, site.version);
  });

  it('a corrupted archive is refused (DownloadCorrupt) and nothing is left', async () => {
    reset();
    site.mode = 'corrupt';
    const dir = fresh('corrupt');
    await assert.rejects(
      installRclone({ base: site.base, dir, version: site.version }),
      (e: Error) => isRcloneError(e, 'DownloadCorrupt') && /does not match its SHA256SUMS entry/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a wrong checksum is refused and nothing is left', async () => {
    reset();
    site.wrongSum = true;
    const dir = fresh('wrongsum');
    await assert.rejects(installRclone({ base: site.base, dir }), (e) => isRcloneError(e, 'DownloadCorrupt'));
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a download cut in the middle fails as Unreachable, keeps its part, and the next install continues it with a Range', async () => {
    reset();
    site.mode = 'cut';
    const dir = fresh('cut');
    await assert.rejects(installRclone({ base: site.base, dir }), (e) => isRcloneError(e, 'Unreachable'));
    assert.equal(existsSync(join(dir, 'rclone')), false);
    const part = readdirSync(dir).find((f) => f.endsWith('.part'));
    assert.ok(part, 'the part stays');
    const kept = statSync(join(dir, part)).size;
    assert.ok(kept > 0 && kept < site.archive.length);
    site.bytesSent = 0;
    const r = await installRclone({ base: site.base, dir });
    assert.deepEqual(site.ranges, [`bytes=${kept}-`]);
    assert.equal(r.downloaded, site.archive.length - kept, 'only the rest was fetched');
    assert.deepEqual(readdirSync(dir), ['rclone']);
  });

  it('cancel ends the download at once and leaves nothing', async () => {
    reset();
    site.mode = 'slow';
    const dir = fresh('cancel');
    const stop = new AbortController();
    const started = installRclone({
      base: site.base,
      dir,
      signal: stop.signal,
      onProgress: (b) => b > 256 * 1024 && stop.abort(),
    });
    await assert.rejects(started, (e) => isRcloneError(e, 'Cancelled'));
    assert.deepEqual(readdirSync(dir), []);
  });

  it('never touches an rclone on PATH; an update replaces only ours, by rename (a running one keeps its file)', async () => {
    reset();
    const bin = fresh('path-bin');
    writeFileSync(join(bin, 'rclone'), '#!/bin/sh\necho "rclone v1.53.3"\n');
    chmodSync(join(bin, 'rclone'), 0o755);
    const before = readFileSync(join(bin, 'rclone'), 'utf8');
    const dir = fresh('ours');
    await installRclone({ base: site.base, dir });
    const first = statSync(join(dir, 'rclone')).ino;
    await installRclone({ base: site.base, dir, version: `v${site.version}` });
    assert.notEqual(statSync(join(dir, 'rclone')).ino, first, 'a new file, renamed into place');
    assert.equal(readFileSync(join(bin, 'rclone'), 'utf8'), before, 'the PATH rclone is as it was');
    assert.deepEqual(readdirSync(bin), ['rclone']);
  });

  it('reads only what it needs of a zip, and refuses a broken one', () => {
    const binary = unzipOne(site.archive, 'rclone');
    assert.equal(binary.length, statSync(execFileSync('which', ['rclone'], { encoding: 'utf8' }).trim()).size);
    assert.throws(
      () => unzipOne(site.archive.subarray(0, 1000), 'rclone'),
      (e) => isRcloneError(e, 'DownloadCorrupt'),
    );
    assert.throws(
      () => unzipOne(site.archive, 'nothing-like-it'),
      (e) => isRcloneError(e, 'DownloadCorrupt'),
    );
  });

  it('goes through the HTTP proxy the environment names (a local forwarding proxy that counts what it forwards)', async () => {
    site.reset();
    const seen: string[] = [];
    const proxy = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const up = httpRequest(req.url!, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const dir = fresh('proxied');
      const r = await installRclone({ base: site.base, dir, proxyEnv: { HTTP_PROXY: `http://127.0.0.1:${port}` } });
      assert.equal(r.version, site.version);
      assert.deepEqual(
        seen.map((l) => l.replace(site.base, '')),
        [
          'GET /version.txt',
          `GET /v${site.version}/SHA256SUMS`,
          `GET /v${site.version}/rclone-v${site.version}-${platformName()}.zip`,
        ],
        'every request went through the proxy, as an absolute URL',
      );
    } finally {
      await new Promise((ok) => proxy.close(ok));
    }
  });

  it('takes the proxy from the environment, except for NO_PROXY hosts', () => {
    const env = { HTTPS_PROXY: 'http://proxy.internal:3128', NO_PROXY: 'mirror.local,.corp' };
    assert.equal(proxyFor(new URL('https://downloads.rclone.org/x'), env)?.host, 'proxy.internal:3128');
    assert.equal(proxyFor(new URL('https://mirror.local/x'), env), undefined);
    assert.equal(proxyFor(new URL('https://a.corp/x'), env), undefined);
    assert.equal(proxyFor(new URL('http://downloads.rclone.org/x'), env), undefined, 'no HTTP_PROXY for http');
    assert.equal(platformName('linux', 'arm64'), 'linux-arm64');
    assert.equal(platformName('linux', 'arm', '7'), 'linux-arm-v7');
  });
});
