// Real parts for tests: an S3 server on loopback, an rclone config pointing at it, temp dirs.
// Everything started here is stopped by its pid in the returned dispose(), which tests call
// from `after`/`t.after`, so a failing test still cleans up.
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Rclone } from '../../src/core/rclone';
import { ROOT } from './root';

export { ROOT };
export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER';

export function tempDir(prefix = 'rdb-'): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

export interface S3Server {
  port: number;
  endpoint: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1:<random> in a child process with the given buckets. */
export async function startS3(buckets: string[] = ['models']): Promise<S3Server> {
  const data = tempDir('rdb-s3-');
  const child: ResultPromise = execa(
    process.execPath,
    [join(ROOT, 'test/helpers/s3server.cjs'), data.path, ...buckets],
    {
      stdin: 'ignore',
      reject: false,
      cleanup: true,
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const port = await new Promise<number>((ok, fail) => {
    timer = setTimeout(() => fail(new Error('s3rver did not start within 15 s')), 15_000);
    createInterface({ input: child.stdout! }).once('line', (line) => ok((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => fail(new Error(`s3rver exited with ${code}`)));
  })
    .catch(async (e: unknown) => {
      child.kill('SIGKILL');
      await child;
      data.dispose();
      throw e;
    })
    .finally(() => clearTimeout(timer));
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    dataDir: data.path,
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await child;
      clearTimeout(t);
      data.dispose();
    },
  };
}

/** rclone.conf text for an S3 remote on the test server (the secret is the test server's, not a real one). */
export function s3Remote(name: string, endpoint: string, secret = SECRET_KEY, accessKey = ACCESS_KEY): string {
  return [
    `[${name}]`,
    'type = s3',
    'provider = Other',
    `access_key_id = ${accessKey}`,
    `secret_access_key = ${secret}`,
    `endpoint = ${endpoint}`,
    'region = us-east-1',
    '',
  ].join('\n');
}

export interface Box {
  s3: S3Server;
  dir: string;
  configFile: string;
  rclone: Rclone;
  dispose(): Promise<void>;
}

/** An S3 server, a temp dir and an rclone bound to a config with remote "s3" pointing at it. */
export async function startBox(buckets: string[] = ['models'], extraConfig = ''): Promise<Box> {
  const s3 = await startS3(buckets);
  const dir = tempDir();
  const configFile = join(dir.path, 'rclone.conf');
  let rclone: Rclone;
  try {
    writeFileSync(configFile, s3Remote('s3', s3.endpoint) + extraConfig, { mode: 0o600 });
    rclone = await Rclone.locate({ configFile });
  } catch (e) {
    await s3.stop();
    dir.dispose();
    throw e;
  }
  return {
    s3,
    dir: dir.path,
    configFile,
    rclone,
    async dispose() {
      await s3.stop();
      dir.dispose();
    },
  };
}

/** Uploads objects through real rclone: `rclone rcat` for each key (content = its text). */
export async function putObjects(box: Box, bucket: string, objects: Record<string, string>): Promise<void> {
  const entries = Object.entries(objects);
  for (let i = 0; i < entries.length; i += 16) {
    await Promise.all(
      entries
        .slice(i, i + 16)
        .map(([key, body]) =>
          box.rclone.run(['rcat', '--', `s3:${bucket}/${key}`], { input: body, timeoutMs: 30_000 }),
        ),
    );
  }
}

/**
 * Puts `count` small objects named `<prefix>/file-00001.bin`… into a bucket in one `rclone copy`.
 * s3rver lists a prefix only one level deep, so every top-level folder also gets a `.keep` marker
 * (see ENVIRONMENT.md); tests that count entries account for it.
 */
export async function seedFolder(
  box: Box,
  bucket: string,
  prefix: string,
  count: number,
  bytes = 16,
  signal?: AbortSignal,
): Promise<void> {
  const src = tempDir('rdb-seed-');
  try {
    const body = 'x'.repeat(bytes);
    for (let i = 1; i <= count; i++) writeFileSync(join(src.path, `file-${String(i).padStart(5, '0')}.bin`), body);
    writeFileSync(join(src.path, '.keep'), '');
    await box.rclone.run(['copy', '--transfers', '16', '--checkers', '16', '--', src.path, `s3:${bucket}/${prefix}`], {
      timeoutMs: 300_000,
      signal,
    });
  } finally {
    src.dispose();
  }
}
