// The headless entry point over core/, for boot scripts and containers where no editor is attached.
import { parseArgs } from 'node:util';
import { RcloneConfig } from './core/config';
import { FIXES, isRcloneError } from './core/errors';
import type { Logger } from './core/events';
import { hasListR, listFolder } from './core/listing';
import { cacheTrouble, MountRegistry } from './core/mounts';
import type { CacheMode } from './core/profile';
import { Rclone } from './core/rclone';

const usage = `usage: rclone-devbox <command>
  remotes                              list remotes (type, provider, endpoint; never secrets)
  ls <remote:path> [--limit N]         list a folder, streamed (folders end with /)
  mounts [--json]                      rclone mounts on this box and their state
  mount <remote:path> <dir> [--cache-mode writes|full] [--cache-dir D] [--cache-max-size 20G]
        [--allow-other] [--allow-non-empty] [--timeout SECONDS]
                                       mount and return once it is ready
  unmount <dir> [--wait SECONDS] [--force]
                                       unmount once pending uploads are done
  repair <dir>                         clean a dead mount ("Transport endpoint is not connected")`;

const log: Logger = {
  info: (m) => process.env.RCLONE_DEVBOX_VERBOSE && process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
};

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      limit: { type: 'string' },
      json: { type: 'boolean' },
      'cache-mode': { type: 'string' },
      'cache-dir': { type: 'string' },
      'cache-max-size': { type: 'string' },
      'allow-other': { type: 'boolean' },
      'allow-non-empty': { type: 'boolean' },
      timeout: { type: 'string' },
      wait: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, a, b] = positionals;
  const seconds = (s: string | undefined) => (s === undefined ? undefined : Number(s) * 1000);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  if (o.help || !command) {
    out(usage);
    return o.help ? 0 : 2;
  }
  const rclone = await Rclone.locate({ path: process.env.RCLONE_DEVBOX_RCLONE, log, signal: ac.signal });
  const registry = () => new MountRegistry(rclone, { log });

  switch (command) {
    case 'remotes': {
      const config = await RcloneConfig.open(rclone, ac.signal);
      for (const r of await config.remotes(ac.signal))
        out([r.name, r.type, r.provider ?? '', r.endpoint ?? '', r.source].join('\t'));
      return 0;
    }
    case 'ls': {
      const limit = o.limit === undefined ? undefined : Number(o.limit);
      if (!a || (limit !== undefined && !(limit > 0))) break;
      const remote = a.slice(0, Math.max(0, a.indexOf(':')));
      const listR = remote !== '' && (await hasListR(rclone, remote, ac.signal).catch(() => false));
      const page = await listFolder(rclone, a, {
        limit,
        listR,
        signal: ac.signal,
        onEntry: (e) => out(e.isDir ? `${e.name}/\t-` : `${e.name}\t${e.size}`),
      });
      if (page.more) process.stderr.write(`… more entries after the first ${page.entries.length}\n`);
      return 0;
    }
    case 'mounts': {
      const reg = registry();
      const mounts = await reg.refresh();
      if (o.json) {
        const rcState = async (dir: string) => {
          const rc = await reg.rc(dir);
          return rc
            ? rc.pid().then(
                () => 'answers',
                () => 'down',
              )
            : 'none';
        };
        out(
          JSON.stringify(
            await Promise.all(mounts.map(async (m) => ({ ...m, rc: await rcState(m.mountPoint) }))),
            null,
            2,
          ),
        );
      } else {
        for (const m of mounts)
          out(
            [
              m.mountPoint,
              m.remote,
              m.state,
              m.external ? 'external' : `pid ${m.pid}`,
              `${m.pendingUploads} pending`,
              ...(cacheTrouble(m) ? [cacheTrouble(m)] : []),
            ].join('\t'),
          );
        if (mounts.some(cacheTrouble)) process.stderr.write(`${FIXES.CacheFull}\n`);
      }
      return 0;
    }
    case 'mount': {
      if (!a || !b) break;
      const m = await registry().mount(
        {
          remote: a,
          mountPoint: b,
          cacheMode: o['cache-mode'] as CacheMode | undefined,
          cacheDir: o['cache-dir'],
          cacheMaxSize: o['cache-max-size'],
          allowOther: o['allow-other'],
          allowNonEmpty: o['allow-non-empty'],
        },
        { signal: ac.signal, timeoutMs: seconds(o.timeout) },
      );
      out(`${m.remote} is mounted on ${m.mountPoint} (rclone pid ${m.pid}, log ${m.logFile})`);
      return 0;
    }
    case 'unmount': {
      if (!a) break;
      await registry().unmount(a, {
        force: o.force,
        waitMs: seconds(o.wait),
        signal: ac.signal,
        onProgress: (n) => n > 0 && process.stderr.write(`waiting for ${n} upload${n === 1 ? '' : 's'}…\n`),
      });
      out(`${a} is unmounted`);
      return 0;
    }
    case 'repair': {
      if (!a) break;
      await registry().repair(a);
      out(`${a} is repaired`);
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
