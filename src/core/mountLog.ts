// The log file of one mount: where it is (one per mount point), kept bounded, and read as it grows.
import { open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { keyOf } from './records';

/** A log past this size is moved to `<name>.1` (replacing the older one) when its mount starts again. */
export const LOG_CAP_BYTES = 10 * 1024 * 1024;

/** `mnt_index-tts-storage-<hash>.log`: readable, and unique even when two paths slug the same (`/mnt/模型`, `/mnt/数据`). */
export function logFileFor(dir: string, mountPoint: string): string {
  const slug =
    mountPoint
      .replace(/^\/+/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(0, 60) || 'root';
  return join(dir, `${slug}-${keyOf(mountPoint).slice(0, 8)}.log`);
}

/** Rotates an oversized log; returns the byte offset where this run's lines will start. */
export async function prepareLog(file: string): Promise<number> {
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= LOG_CAP_BYTES) return size;
  await rename(file, `${file}.1`);
  return 0;
}

/** Reads what was appended since the last call, by byte offset, whole lines only. */
export class LogTail {
  private pending = Buffer.alloc(0);
  /** Every complete line read so far (this run's only). */
  readonly lines: string[] = [];

  constructor(
    readonly file: string,
    private offset: number,
  ) {}

  /** How far into the file it has read: it changes only when rclone wrote something. */
  get position(): number {
    return this.offset;
  }

  /** Moves to `offset` bytes from the start (negative: from the end), dropping what is unread. */
  async skipTo(offset: number): Promise<void> {
    const size = await stat(this.file).then(
      (s) => s.size,
      () => 0,
    );
    this.offset = offset < 0 ? Math.max(0, size + offset) : Math.min(offset, size);
    this.pending = Buffer.alloc(0);
  }

  async read(): Promise<string[]> {
    const handle = await open(this.file, 'r').catch(() => undefined);
    if (!handle) return [];
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return [];
      const chunk = Buffer.alloc(Math.min(size - this.offset, 1024 * 1024));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, this.offset);
      this.offset += bytesRead;
      const data = Buffer.concat([this.pending, chunk.subarray(0, bytesRead)]);
      const end = data.lastIndexOf(0x0a) + 1;
      this.pending = data.subarray(end);
      const fresh = data.subarray(0, end).toString('utf8').split('\n').filter(Boolean);
      this.lines.push(...fresh);
      return fresh;
    } finally {
      await handle.close();
    }
  }

  /** Everything read, plus a last line without its newline yet (rclone's dying words may lack one). */
  text(): string {
    return [...this.lines, this.pending.toString('utf8')].join('\n');
  }
}
