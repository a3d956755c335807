// Locks shared by processes: one holder at a time, and a dead holder never blocks for ever.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { isRcloneError } from '../../src/core/errors';
import { lockFileFor, withLock } from '../../src/core/lock';
import { processIdentity } from '../../src/core/processes';
import { bundleSnippet, runInParallel } from '../helpers/child';
import { tempDir } from '../helpers/fixtures';

describe('locks', () => {
  let work: ReturnType<typeof tempDir>;
  afterEach(() => work?.dispose());
  const fresh = () => (work = tempDir('rdb-lock-')).path;

  it('lets one process in at a time, also when 10 processes break the same dead lock at once', async () => {
    const dir = fresh();
    const locks = join(dir, 'locks');
    const journal = join(dir, 'journal');
    // A lock left by a process that crashed before a reboot: same pid as a live process (ours), other identity.
    writeFileSync(journal, '');
    mkdirSync(locks);
    writeFileSync(lockFileFor(locks, '/mnt/x'), `${process.pid} other-boot/1 deadbeef\n`);
    const script = bundleSnippet(
      dir,
      'holder',
      `import { appendFileSync } from 'node:fs';
       import { withLock } from './src/core/lock';
       const [, , i] = process.argv;
       void withLock(${JSON.stringify(locks)}, '/mnt/x', 60_000, async () => {
         appendFileSync(${JSON.stringify(journal)}, 'in ' + i + '\\n');
         await new Promise((ok) => setTimeout(ok, 30));
         appendFileSync(${JSON.stringify(journal)}, 'out ' + i + '\\n');
       });`,
    );
    await runInParallel(script, 10);
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    assert.equal(lines.length, 20);
    for (let k = 0; k < lines.length; k += 2) {
      const [inLine, outLine] = [lines[k]!, lines[k + 1]!];
      assert.ok(inLine.startsWith('in ') && outLine === `out ${inLine.slice(3)}`, `interleaved: ${lines.join(' | ')}`);
    }
    assert.deepEqual(
      readdirSync(locks).filter((n) => !n.endsWith('.broken')),
      [],
      'no lock and no temp file is left',
    );
  });

  it('breaks a lock whose pid is alive but belongs to another process now (pid reused)', async () => {
    const dir = fresh();
    writeFileSync(lockFileFor(dir, 'k'), `1 ${processIdentity(process.pid)}-not-init x\n`);
    assert.equal(await withLock(dir, 'k', 2_000, async () => 'entered'), 'entered');
  });

  it('breaks an empty lock file once it is old (a crash between create and write)', async () => {
    const dir = fresh();
    const file = lockFileFor(dir, 'k');
    writeFileSync(file, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    assert.equal(await withLock(dir, 'k', 2_000, async () => 'entered'), 'entered');
  });

  it('waits for a live holder and then says who holds it', async () => {
    const dir = fresh();
    writeFileSync(lockFileFor(dir, 'k'), `${process.pid} ${processIdentity(process.pid)} live\n`);
    await assert.rejects(
      withLock(dir, 'k', 300, async () => 'entered'),
      (e) => isRcloneError(e, 'MountBusy') && e.message.includes(`process ${process.pid}`),
    );
    appendFileSync(join(dir, 'unused'), ''); // the holder's lock is untouched
    assert.match(readFileSync(lockFileFor(dir, 'k'), 'utf8'), /live/);
  });
});
