// A local HTTP server that stands in for rclone's download site (downloads.rclone.org, which tests
// do not reach). It serves a release-shaped archive built from the rclone on this machine
// (rclone-v<version>-<platform>.zip, with the binary in rclone-v<version>-<platform>/rclone), that
// release's SHA256SUMS and version.txt, and can corrupt, cut or slow what it sends. Everything it
// makes lives in one temp folder, removed by close() (call it from `after`, so a failure cleans up).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { platformName } from '../../src/core/install';
import { Rclone } from '../../src/core/rclone';
import { tmpdir } from 'node:os';

export interface ReleaseSite {
  base: string;
  /** The version served (this machine's rclone, "1.68.2"). */
  version: string;
  archive: Buffer;
  /** What version.txt names (default: `version`); a higher one makes "a newer rclone" appear. */
  latest: string;
  /** What the next archive request does. */
  mode: 'ok' | 'corrupt' | 'cut' | 'slow';
  /** A wrong line in SHA256SUMS. */
  wrongSum: boolean;
  /** Range requests seen for the archive. */
  ranges: string[];
  bytesSent: number;
  /** Requests for version.txt. */
  versionAsked: number;
  /** Back to serving the archive as it is, with nothing seen. */
  reset(): void;
  close(): Promise<void>;
}

/** Builds the release from the rclone on PATH and serves it on 127.0.0.1:<random>. */
export async function startReleaseSite(): Promise<ReleaseSite> {
  // Not fixtures' tempDir: this helper also runs inside the extension host (no execa there).
  const path = mkdtempSync(join(tmpdir(), 'rdb-release-'));
  const work = { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
  let server: Server | undefined;
  try {
    const here = await Rclone.locate({});
    const v = here.version;
    const version = `${v.major}.${v.minor}.${v.patch}`;
    const name = `rclone-v${version}-${platformName()}`;
    // A release-shaped zip, built with Python's zipfile (deflated, as rclone's are).
    mkdirSync(join(work.path, 'release', name), { recursive: true });
    execFileSync('cp', [here.path, join(work.path, 'release', name, 'rclone')]);
    writeFileSync(join(work.path, 'release', name, 'README.txt'), 'rclone\n');
    execFileSync(
      'python3',
      [
        '-c',
        'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n  for n in sys.argv[3:]: z.write(sys.argv[2] + "/" + n, n)',
        join(work.path, `${name}.zip`),
        join(work.path, 'release'),
        `${name}/README.txt`,
        `${name}/rclone`,
      ],
      { timeout: 120_000 },
    );
    const archive = readFileSync(join(work.path, `${name}.zip`));
    const site: ReleaseSite = {
      base: '',
      version,
      archive,
      latest: version,
      mode: 'ok',
      wrongSum: false,
      ranges: [],
      bytesSent: 0,
      versionAsked: 0,
      reset: () => Object.assign(site, { mode: 'ok', wrongSum: false, ranges: [], bytesSent: 0, latest: version }),
      close: async () => {
        await new Promise((ok) => server?.close(ok));
        server?.closeAllConnections();
        work.dispose();
      },
    };
    server = createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/version.txt') {
        site.versionAsked++;
        return void res.end(`rclone v${site.latest}\n`);
      }
      if (url === `/v${version}/SHA256SUMS`) {
        const sum = createHash('sha256')
          .update(site.wrongSum ? 'not the archive' : archive)
          .digest('hex');
        return void res.end(
          `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA1\n\n${sum}  ${name}.zip\n${'0'.repeat(64)}  other.zip\n`,
        );
      }
      if (url !== `/v${version}/${name}.zip`) return void res.writeHead(404).end();
      let body = archive;
      if (site.mode === 'corrupt') {
        body = Buffer.from(archive);
        for (let i = 1000; i < body.length; i += 4096) body[i] = body[i]! ^ 0xff;
      }
      const range = req.headers.range;
      let from = 0;
      if (range) {
        site.ranges.push(range);
        from = Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0);
        res.writeHead(206, {
          'Content-Length': body.length - from,
          'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}`,
        });
      } else res.writeHead(200, { 'Content-Length': body.length });
      const rest = body.subarray(from);
      if (site.mode === 'cut') {
        // Sends 40% and drops the connection, once.
        site.mode = 'ok';
        const n = Math.floor(rest.length * 0.4);
        site.bytesSent += n;
        res.write(rest.subarray(0, n), () => res.destroy());
        return;
      }
      if (site.mode === 'slow') {
        let at = 0;
        const tick = setInterval(() => {
          if (res.destroyed || at >= rest.length) {
            clearInterval(tick);
            res.end();
            return;
          }
          res.write(rest.subarray(at, at + 64 * 1024));
          site.bytesSent += Math.min(64 * 1024, rest.length - at);
          at += 64 * 1024;
        }, 20);
        res.on('close', () => clearInterval(tick));
        return;
      }
      site.bytesSent += rest.length;
      res.end(rest);
    });
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    site.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return site;
  } catch (e) {
    server?.close();
    work.dispose();
    throw e;
  }
}
