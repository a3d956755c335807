// Listing benchmark: ours vs. rclone itself vs. the seed script's way, side by side in one run,
// over a loopback link with 15 ms added to every request (a same-region dev box ↔ bucket).
//   npm run bench
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { listFolder } from '../src/core/listing';
import { Rclone } from '../src/core/rclone';
import { s3Remote, seedFolder } from '../test/helpers/fixtures';
import { benchOnBox, Interrupts, LINK_MS } from './results';

const OBJECTS = 2000;
const RUNS = 5;

const interrupts = new Interrupts();

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

benchOnBox(interrupts, ['models'], async (box, proxy) => {
  await seedFolder(box, 'models', 'flat', OBJECTS);
  const file = join(box.dir, 'link.conf');
  writeFileSync(file, s3Remote('s3', proxy.endpoint), { mode: 0o600 });
  const rclone = await Rclone.locate({ configFile: file });
  const target = 's3:models/flat';
  const raw = (args: string[]) =>
    execa(rclone.path, ['--config', file, ...args, '--', target], { env: rclone.env, extendEnv: false });

  // sanity: everyone sees the same number of entries
  const ours = await listFolder(rclone, target, { listR: true });
  const theirs = String((await raw(['lsf', '-R', '--fast-list'])).stdout)
    .split('\n')
    .filter(Boolean);
  if (ours.entries.length !== theirs.length)
    throw new Error(`ours ${ours.entries.length} vs rclone ${theirs.length} entries`);

  const rows: [string, number][] = [];
  const measure = async (name: string, runs: number, fn: () => Promise<unknown>) => {
    const ms = await median(runs, fn);
    rows.push([name, ms]);
    process.stdout.write(`${name.padEnd(58)} ${ms.toFixed(0).padStart(7)} ms\n`);
    return ms;
  };

  console.log(
    `Listing ${OBJECTS} objects in one folder, ${LINK_MS} ms per request, median of ${RUNS} (${cpus().length} cores, rclone ${rclone.version.text})\n`,
  );
  const firstPage = await measure('ours: first page of 500 (streamed, ListR)', RUNS, () =>
    listFolder(rclone, target, { listR: true, limit: 500 }),
  );
  const full = await measure('ours: whole folder (streamed, ListR)', RUNS, () =>
    listFolder(rclone, target, { listR: true }),
  );
  const plain = await measure('ours: whole folder (plain lsjson)', RUNS, () => listFolder(rclone, target));
  const lsf = await measure('rclone lsf -R --fast-list', RUNS, () => raw(['lsf', '-R', '--fast-list']));
  const lsl = await measure('seed script: rclone lsl (reads every modtime)', 1, () => raw(['lsl']));
  const lsjsonMod = await measure('rclone lsjson with modtimes (no --no-modtime)', 1, () =>
    raw(['lsjson', '--no-mimetype']),
  );

  console.log('\nRatios (lower is better for ours):');
  console.log(`  ours whole folder / rclone lsf -R --fast-list : ${(full / lsf).toFixed(2)}`);
  console.log(`  ours first page   / rclone lsf -R --fast-list : ${(firstPage / lsf).toFixed(2)}`);
  console.log(`  ours plain lsjson / rclone lsf -R --fast-list : ${(plain / lsf).toFixed(2)}`);
  console.log(`  seed rclone lsl   / ours whole folder         : ${(lsl / full).toFixed(1)}x slower`);
  console.log(`  lsjson w/ modtime / ours whole folder         : ${(lsjsonMod / full).toFixed(1)}x slower`);
  const lists = proxy.requests.length;
  console.log(`\n(${lists} HTTP requests went through the link in total)`);
});
