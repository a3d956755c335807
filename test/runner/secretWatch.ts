// Watches a whole editor session for leaked secrets, from outside the editor, as another user of
// the box could look: every process's argv (/proc/<pid>/cmdline, readable by anyone) sampled
// every 20 ms, then every log and file the session wrote (the editor's logs with our output
// channel, rclone's logs, the apps' logs, the workspace). The secrets: the one the suites type
// into Add / Edit Remote (RCLONE_DEVBOX_TEST_SECRET), the S3 server's key, and the rc password of
// every mount started (read from the mount records, which alone may hold it: 0600, by design).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SECRET_KEY } from '../helpers/fixtures';
import type { TestBox } from '../integration/box';
import { SECRET_ENV } from '../integration/boxInfo';

export interface SecretReport {
  samples: number;
  processes: number;
  /** Where a secret was seen: "argv of pid 123 (rclone …)", "file …". */
  hits: string[];
}

export class SecretWatch {
  private readonly secrets = new Set<string>();
  private readonly seen = new Set<number>();
  private readonly hits = new Set<string>();
  private samples = 0;
  private readonly sampler: NodeJS.Timeout;
  private readonly refresher: NodeJS.Timeout;

  constructor(private readonly box: TestBox) {
    for (const s of [box.env[SECRET_ENV], SECRET_KEY]) if (s) this.secrets.add(s);
    this.sampler = setInterval(() => this.sample(), 20);
    this.refresher = setInterval(() => this.readRcPasswords(), 250);
  }

  private get stateDir(): string {
    return join(this.box.info.stateDir, 'rclone-devbox');
  }

  private readRcPasswords(): void {
    const dir = join(this.stateDir, 'mounts');
    for (const name of safe(() => readdirSync(dir), [])) {
      const pass = safe(() => (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { pass?: string }).pass, undefined);
      if (pass) this.secrets.add(pass);
    }
  }

  private sample(): void {
    this.samples++;
    for (const name of safe(() => readdirSync('/proc'), [])) {
      if (!/^\d+$/.test(name)) continue;
      const argv = safe(() => readFileSync(`/proc/${name}/cmdline`, 'utf8'), '');
      if (!argv) continue;
      this.seen.add(Number(name));
      for (const s of this.secrets)
        if (argv.includes(s)) this.hits.add(`argv of pid ${name} (${argv.split('\0').slice(0, 3).join(' ')} …)`);
    }
  }

  /** Stops sampling, greps the files the session wrote, and says what was found. */
  finish(): SecretReport {
    clearInterval(this.sampler);
    clearInterval(this.refresher);
    this.readRcPasswords();
    const files = [
      ...filesUnder(join(this.box.dataDir, 'logs')),
      ...filesUnder(join(this.stateDir, 'logs')),
      ...filesUnder(join(this.stateDir, 'apps')),
      ...filesUnder(this.box.info.workspace),
    ];
    for (const file of files) {
      const text = safe(() => readFileSync(file, 'utf8'), '');
      for (const s of this.secrets) if (text.includes(s)) this.hits.add(`file ${file}`);
    }
    return { samples: this.samples, processes: this.seen.size, hits: [...this.hits] };
  }
}

function filesUnder(dir: string): string[] {
  return safe(() => readdirSync(dir, { recursive: true, encoding: 'utf8' }), [])
    .map((f) => join(dir, f))
    .filter((f) => safe(() => statSync(f).isFile() && statSync(f).size < 64 << 20, false));
}

/** A read that may fail (a process gone, a file removed meanwhile): its fallback then. */
function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
