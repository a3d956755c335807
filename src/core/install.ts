// Installing rclone into the user's own folder, without sudo: many GPU boxes run Ubuntu 20.04 or
// 22.04, whose apt rclone (1.50, 1.53) is below our floor of 1.60, and shared boxes and containers
// give no root. The official release archive for this OS and CPU is downloaded from rclone's
// download site (or a mirror: the base URL is a setting), checked against the release's
// SHA256SUMS (a mismatch keeps nothing), and only its `rclone` binary is unpacked, tried with
// `rclone version`, and renamed into place: a running mount keeps the binary it started with.
// An rclone elsewhere (PATH, /usr/bin) is never replaced or removed.
//
// The download resumes a cut one where the server allows (a Range request on the `.part` file)
// and restarts cleanly where it does not. Proxies: in the editor, Node's https module is VS Code's
// (it applies `http.proxy`); in the CLI, HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { inflateRawSync } from 'node:zlib';
import * as l10n from '@vscode/l10n';
import { Child } from './child';
import { RcloneError } from './errors';
import { parseVersion } from './rclone';

export const DEFAULT_BASE_URL = 'https://downloads.rclone.org';

/** rclone's name for this OS and CPU in its archives: linux-amd64, linux-arm64, linux-arm-v7, osx-arm64… */
export function platformName(
  platform: string = process.platform,
  arch: string = process.arch,
  armVersion: unknown = (process.config.variables as { arm_version?: unknown }).arm_version,
): string {
  const os = ({ linux: 'linux', darwin: 'osx', freebsd: 'freebsd', win32: 'windows' } as Record<string, string>)[
    platform
  ];
  const cpu = (
    {
      x64: 'amd64',
      arm64: 'arm64',
      ia32: '386',
      arm: String(armVersion) === '6' ? 'arm-v6' : 'arm-v7',
      mips: 'mips',
      mipsel: 'mipsle',
    } as Record<string, string>
  )[arch];
  if (!os || !cpu)
    throw new RcloneError('RcloneMissing', l10n.t`rclone publishes no archive for ${platform}/${arch}.`, {
      fix: l10n.t('Install rclone by hand (rclone.org/install), then set "rclone.path" to it.'),
    });
  return `${os}-${cpu}`;
}

export interface Release {
  version: string;
  /** e.g. rclone-v1.68.2-linux-amd64.zip */
  archive: string;
  url: string;
  sumsUrl: string;
}

export function releaseOf(base: string, version: string, platform = platformName()): Release {
  const root = base.replace(/\/+$/, '');
  const archive = `rclone-v${version}-${platform}.zip`;
  return { version, archive, url: `${root}/v${version}/${archive}`, sumsUrl: `${root}/v${version}/SHA256SUMS` };
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** Bound on a request that sends nothing (default 30 s). */
  idleMs?: number;
  /** The environment whose HTTPS_PROXY / HTTP_PROXY / NO_PROXY apply (the CLI's); undefined: Node's own https (the editor's). */
  proxyEnv?: NodeJS.ProcessEnv;
}

/** The newest version the site lists (its version.txt: "rclone v1.68.2"). */
export async function latestVersion(base: string, opts: FetchOptions = {}): Promise<string> {
  const url = `${base.replace(/\/+$/, '')}/version.txt`;
  const text = (await fetchAll(url, opts)).toString('utf8');
  const v = /v(\d+\.\d+\.\d+)/.exec(text)?.[1];
  if (!v) throw unreachable(url, l10n.t`it does not name a version`);
  return v;
}

/** The SHA-256 the release's SHA256SUMS gives for `archive` (the file may be PGP clear-signed: its lines are the same). */
export async function expectedSum(release: Release, opts: FetchOptions = {}): Promise<string> {
  const text = (await fetchAll(release.sumsUrl, opts)).toString('utf8');
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)\s*$/.exec(line.trim());
    if (m && m[2] === release.archive) return m[1]!;
  }
  throw new RcloneError('DownloadCorrupt', l10n.t`${release.sumsUrl} has no checksum for ${release.archive}.`, {
    fix: l10n.t('Check the version and the base URL (a mirror may lack this release), then try again.'),
  });
}

export interface InstallOptions extends FetchOptions {
  base?: string;
  /** A version to install ("1.68.2"); default: the newest. */
  version?: string;
  /** The folder that gets `rclone` (ours: the extension's storage, or ~/.local/share/rclone-devbox/bin). */
  dir: string;
  platform?: string;
  onProgress?: (bytes: number, total: number | undefined) => void;
}

export interface Installed {
  path: string;
  version: string;
  /** Bytes downloaded by this call (0 when a whole archive was there already). */
  downloaded: number;
}

/**
 * Downloads, checks and unpacks rclone into `dir`, replacing only our own `dir/rclone`, atomically.
 * Whatever goes wrong leaves nothing but a `.part` download to continue (never a half binary).
 */
export async function installRclone(opts: InstallOptions): Promise<Installed> {
  const base = opts.base ?? DEFAULT_BASE_URL;
  const version = opts.version?.replace(/^v/, '') ?? (await latestVersion(base, opts));
  const release = releaseOf(base, version, opts.platform);
  await mkdir(opts.dir, { recursive: true, mode: 0o755 });
  const sum = await expectedSum(release, opts);
  const part = join(opts.dir, `${release.archive}.part`);
  const downloaded = await download(release.url, part, opts).catch(async (e: unknown) => {
    // Cancelled: nothing is left. Cut by the network: the part stays, continued next time.
    if (e instanceof RcloneError && e.kind === 'Cancelled') await rm(part, { force: true });
    throw e;
  });
  const actual = await sha256(part);
  if (actual !== sum) {
    await rm(part, { force: true });
    throw new RcloneError(
      'DownloadCorrupt',
      l10n.t`${release.archive} does not match its SHA256SUMS entry (${actual.slice(0, 12)}… instead of ${sum.slice(0, 12)}…): nothing was installed, and the download was removed.`,
      {
        fix: l10n.t(
          'Try again; if it happens again, the file was changed on the way (a proxy or an outdated mirror): check the base URL.',
        ),
      },
    );
  }
  const binary = unzipOne(await readFile(part), 'rclone');
  const fresh = join(opts.dir, `.rclone.${randomBytes(6).toString('hex')}.new`);
  try {
    const f = await open(fresh, 'wx', 0o755);
    try {
      await f.writeFile(binary);
      await f.sync();
    } finally {
      await f.close();
    }
    await chmod(fresh, 0o755);
    const said = await runVersion(fresh, opts.signal);
    if (said !== version)
      throw new RcloneError(
        'DownloadCorrupt',
        l10n.t`The rclone in ${release.archive} says it is ${said ?? '?'}, not ${version}: nothing was installed.`,
        { fix: l10n.t('Check the base URL: it should serve rclone releases as downloads.rclone.org does.') },
      );
    // A rename: a mount running the old binary keeps it (its inode), new runs get the new one.
    await rename(fresh, join(opts.dir, 'rclone'));
  } finally {
    await rm(fresh, { force: true });
  }
  await rm(part, { force: true });
  return { path: join(opts.dir, 'rclone'), version, downloaded };
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `rclone version`'s version ("1.68.2"), or undefined when it does not run or say one. */
async function runVersion(binary: string, signal?: AbortSignal): Promise<string | undefined> {
  const r = await new Child(binary, ['version'], {
    env: { PATH: process.env.PATH ?? '' },
    timeoutMs: 20_000,
    signal,
    collect: true,
  }).result;
  if (r.failed) return undefined;
  const v = parseVersion(r.stdout);
  return v && `${v.major}.${v.minor}.${v.patch}`;
}

// ---- zip: the one file we need, read from the central directory (no dependency for ~40 lines) ----

/** The content of the entry whose name ends with `/name` (or is `name`) in the zip archive `zip`. */
export function unzipOne(zip: Buffer, name: string): Buffer {
  const bad = (why: string) =>
    new RcloneError('DownloadCorrupt', l10n.t`The archive is not a usable zip file (${why}): nothing was installed.`, {
      fix: l10n.t('Try again; a download cut or changed on the way is not installed.'),
    });
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > zip.length) throw bad('no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) throw bad('a broken central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const entry = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entry !== name && !entry.endsWith(`/${name}`)) continue;
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50) throw bad('a broken local header');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + compressed);
    if (data.length !== compressed) throw bad('it is cut short');
    let out: Buffer;
    try {
      out = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : Buffer.alloc(0);
    } catch {
      throw bad('its data does not inflate');
    }
    if (out.length !== size) throw bad(method === 0 || method === 8 ? 'a wrong size' : `compression ${method}`);
    return out;
  }
  throw bad(`no ${name} in it`);
}

// ---- HTTP: GET with a bound on silence, cancel, redirects, resume, and the environment's proxy ----

const unreachable = (url: string, why: string) =>
  new RcloneError('Unreachable', l10n.t`Could not download ${url}: ${why}.`, {
    fix: l10n.t(
      'Check the network (a proxy: HTTPS_PROXY, or VS Code\'s "http.proxy"), or download the release from rclone.org on another machine, copy its rclone binary here and set "rclone.path" to it.',
    ),
  });

async function fetchAll(url: string, opts: FetchOptions): Promise<Buffer> {
  const res = await get(url, opts, {});
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Downloads `url` to `part`, continuing what is there when the server takes a Range; returns the bytes fetched now. */
async function download(url: string, part: string, opts: InstallOptions): Promise<number> {
  const have = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  const res = await get(url, opts, have ? { Range: `bytes=${have}-` } : {});
  const resumed = have > 0 && res.statusCode === 206;
  if (have && res.statusCode === 416) {
    res.resume();
    return 0; // the whole file is there already
  }
  const length = Number(res.headers['content-length'] ?? NaN);
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : undefined;
  const out = createWriteStream(part, { flags: resumed ? 'a' : 'w', mode: 0o644 });
  let bytes = resumed ? have : 0;
  let fetched = 0;
  try {
    for await (const chunk of res) {
      const c = chunk as Buffer;
      bytes += c.length;
      fetched += c.length;
      if (!out.write(c)) await new Promise<void>((ok) => out.once('drain', () => ok()));
      opts.onProgress?.(bytes, total);
    }
  } catch (e) {
    if (opts.signal?.aborted) throw cancelled(url);
    throw isRcloneErr(e) ? e : unreachable(url, l10n.t`the connection ended after ${bytes} bytes`);
  } finally {
    await new Promise<void>((ok) => out.end(() => ok()));
  }
  if (total !== undefined && bytes !== total)
    throw unreachable(url, l10n.t`the connection ended after ${bytes} of ${total} bytes`);
  return fetched;
}

type Headers = Record<string, string>;

/** One GET (following up to 5 redirects) whose response is 2xx (or 416 for a Range past the end). */
function get(url: string, opts: FetchOptions, headers: Headers, hops = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(cancelled(url));
    let req: http.ClientRequest;
    const fail = (e: Error) => reject(isRcloneErr(e) ? e : unreachable(url, e.message));
    const onAbort = () => req?.destroy(cancelled(url));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => opts.signal?.removeEventListener('abort', onAbort);
    request(url, headers, opts)
      .then((r) => {
        req = r;
        r.setTimeout(opts.idleMs ?? 30_000, () =>
          r.destroy(new Error(l10n.t`no answer for ${(opts.idleMs ?? 30_000) / 1000} s`)),
        );
        r.on('error', (e) => (done(), fail(e)));
        r.on('response', (res) => {
          const code = res.statusCode ?? 0;
          if (code >= 300 && code < 400 && res.headers.location && hops < 5) {
            res.resume();
            done();
            get(new URL(res.headers.location, url).toString(), opts, headers, hops + 1).then(resolve, reject);
            return;
          }
          if (code >= 400 && code !== 416) {
            res.resume();
            done();
            reject(unreachable(url, `HTTP ${code}`));
            return;
          }
          res.on('end', done).on('error', done);
          resolve(res);
        });
        r.end();
      })
      .catch((e: Error) => (done(), fail(e)));
  });
}

const cancelled = (url: string) => new RcloneError('Cancelled', l10n.t`Cancelled: downloading ${url}.`);
const isRcloneErr = (e: unknown): e is RcloneError => e instanceof RcloneError;

/** The proxy for `url` from HTTPS_PROXY / HTTP_PROXY (lower case too), unless NO_PROXY names its host. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((h) => h.trim().replace(/^\./, ''));
  if (noProxy.some((h) => h === '*' || (h && (url.hostname === h || url.hostname.endsWith(`.${h}`))))) return undefined;
  const raw =
    url.protocol === 'https:'
      ? (env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy)
      : (env.HTTP_PROXY ?? env.http_proxy);
  return raw ? new URL(raw.includes('://') ? raw : `http://${raw}`) : undefined;
}

/** A request for `url`: straight, through an HTTP proxy (http://), or through a CONNECT tunnel (https://). */
async function request(url: string, headers: Headers, opts: FetchOptions): Promise<http.ClientRequest> {
  const target = new URL(url);
  const proxy = opts.proxyEnv && proxyFor(target, opts.proxyEnv);
  const auth = proxy?.username
    ? {
        'Proxy-Authorization': `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`,
      }
    : {};
  if (!proxy) return (target.protocol === 'https:' ? https : http).request(target, { headers });
  if (target.protocol === 'http:')
    return http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      path: url,
      headers: { ...headers, ...auth, Host: target.host },
    });
  // CONNECT host:443, then TLS to the host over the tunnel.
  const socket = await new Promise<import('node:net').Socket>((ok, fail) => {
    const s = netConnect(Number(proxy.port || 80), proxy.hostname);
    s.once('error', fail);
    s.once('connect', () => {
      const port = target.port || '443';
      s.write(
        `CONNECT ${target.hostname}:${port} HTTP/1.1\r\nHost: ${target.hostname}:${port}\r\n${Object.entries(auth)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n`,
      );
      let head = '';
      const onData = (d: Buffer) => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        s.off('data', onData);
        if (/^HTTP\/1\.[01] 200/.test(head)) ok(s);
        else fail(new Error(l10n.t`the proxy ${proxy.host} refused the tunnel: ${head.split('\r\n')[0] ?? ''}`));
      };
      s.on('data', onData);
    });
  });
  return https.request(target, {
    headers,
    createConnection: () => tlsConnect({ socket, servername: target.hostname }),
  });
}
