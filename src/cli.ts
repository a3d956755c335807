// The headless entry point over core/, for boot scripts and containers where no editor is attached.
//   rclone-devbox remotes                      remotes with type and endpoint (never secrets)
//   rclone-devbox ls <remote:path> [--limit N] entries of a folder, streamed
import { RcloneConfig } from './core/config';
import { isRcloneError } from './core/errors';
import type { Logger } from './core/events';
import { hasListR, listFolder } from './core/listing';
import { Rclone } from './core/rclone';

const usage = `usage: rclone-devbox <command>
  remotes                        list remotes (type, provider, endpoint)
  ls <remote:path> [--limit N]   list a folder (dirs end with /)`;

const log: Logger = {
  info: () => undefined,
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const rclone = await Rclone.locate({ path: process.env.RCLONE_DEVBOX_RCLONE, log, signal: ac.signal });

  switch (command) {
    case 'remotes': {
      const config = await RcloneConfig.open(rclone, ac.signal);
      for (const r of await config.remotes(ac.signal)) {
        process.stdout.write([r.name, r.type, r.provider ?? '', r.endpoint ?? '', r.source].join('\t') + '\n');
      }
      return 0;
    }
    case 'ls': {
      const target = rest.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
      const limitAt = rest.indexOf('--limit');
      const limit = limitAt >= 0 ? Number(rest[limitAt + 1]) : undefined;
      if (!target || (limit !== undefined && !(limit > 0))) break;
      const remote = target.slice(0, Math.max(0, target.indexOf(':')));
      const listR = remote !== '' && (await hasListR(rclone, remote, ac.signal).catch(() => false));
      const page = await listFolder(rclone, target, {
        limit,
        listR,
        signal: ac.signal,
        onEntry: (e) => process.stdout.write(e.isDir ? `${e.name}/\t-\n` : `${e.name}\t${e.size}\n`),
      });
      if (page.more) process.stderr.write(`… more entries after the first ${page.entries.length}\n`);
      return 0;
    }
  }
  process.stderr.write(usage + '\n');
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (isRcloneError(e)) process.stderr.write(`${e.message}\n${e.fix}\n${e.detail ? `\n${e.detail}\n` : ''}`);
    else process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
