// Copy mode against rclone itself: bringing a model version to a local folder, what the user waits
// for, side by side in one run, over a loopback link with 15 ms added to every request. The bucket
// holds cache_hub_v23/: 8 files of incompressible random bytes (1 GiB in all: a model's weights
// are gigabytes, IndexTTS2's several) and a few small ones, seeded once straight into the S3 server
// (not through the link). BENCH_COPY_FILE_MB sets the size of each of the 8 (default 128).
//   copy_vs_rclone     ours: copyVersion() in this process (rclone size --json and rclone backend
//                      features side by side, then rclone copy into `.cache_hub_v23.partial`, renamed
//                      when whole) into a fresh destination each run
//   copy_up_vs_rclone  ours: the whole CLI process, `node dist/cli.js up --no-app`, in a workspace
//                      whose profile has "mode": "copy" and whose task links ./cache_hub to
//                      cache_hub_v23 (no command); its .rclone-devbox/ and the link removed before each run
//   theirs (both)      `rclone copy` alone, with the flags ours gives it that shape the transfer
//                      (--transfers 4 --checkers 8 --low-level-retries 10, --checksum when ours uses it)
//                      and the same config, into a fresh destination each run; not ours' progress
//                      reporting (--use-json-log --stats 500ms --stats-log-level NOTICE)
// Runs are paired (ours i and theirs i back to back) and alternated (who goes first swaps every
// run); one unmeasured pair first warms the server's files into the page cache. Speed ratio per
// pair: theirs_ms / ours_ms, > 1 means ours is faster.
//   npm run bench   (or: node esbuild.mjs --bench && node out/bench/copy.bench.js)
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { copyVersion, sizeOf } from '../src/core/localCopy';
import { Rclone } from '../src/core/rclone';
import { CLI, cliEnv } from '../test/helpers/cli';
import { s3Remote } from '../test/helpers/fixtures';
import { benchOnBox, explain, Interrupts, LINK_MS, median, saveResults, speedup, type Target } from './results';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BUCKET = 'index-tts-data';
const MODEL = 'cache_hub_v23';
const FILES = 8;
const FILE_MB = Number(process.env.BENCH_COPY_FILE_MB ?? 128);
/** The small files beside the weights (and the .keep marker s3rver needs to list the folder). */
const SMALL: Record<string, string> = {
  '.keep': '',
  'config.yaml': 'model: index-tts-2\nsample_rate: 24000\n',
  'tokenizer.json': JSON.stringify({ version: '1.0', vocab: { a: 0, b: 1 } }),
  'README.md': '# cache_hub_v23\n',
};
const MODEL_BYTES = FILES * (FILE_MB << 20) + Object.values(SMALL).reduce((n, body) => n + Buffer.byteLength(body), 0);
const MODEL_FILES = FILES + Object.keys(SMALL).length;
const TRANSFERS = 4;

const interrupts = new Interrupts();

const load = () => loadavg()[0]!.toFixed(1);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const spread = (xs: number[]) =>
  `${median(xs).toFixed(0).padStart(6)} ms [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

benchOnBox(interrupts, [BUCKET], async (box, proxy) => {
  const started = performance.now();
  // ---- the model version, seeded once straight into the server (box.rclone: not through the link) ----
  const seedDir = join(box.dir, 'seed', MODEL);
  mkdirSync(seedDir, { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(seedDir, `model-${i}.safetensors`), randomBytes(FILE_MB << 20));
  for (const [name, body] of Object.entries(SMALL)) writeFileSync(join(seedDir, name), body);
  const seedMs = await timed(() =>
    box.rclone.run(['copy', '--transfers', '8', '--', seedDir, `s3:${BUCKET}/${MODEL}`], {
      timeoutMs: 600_000,
      retries: 3, // s3rver under parallel PUTs now and then stores an empty object: rclone checks, and uploads it again
    }),
  );
  rmSync(join(box.dir, 'seed'), { recursive: true, force: true });

  // ---- both sides read the same config: the S3 server behind the slowed link ----
  const config = join(box.dir, 'link.conf');
  writeFileSync(config, s3Remote('s3', proxy.endpoint), { mode: 0o600 });
  const rclone = await Rclone.locate({ configFile: config });
  const source = `s3:${BUCKET}/${MODEL}`;
  const seeded = JSON.parse(await rclone.run(['size', '--json', '--', source])) as { bytes: number; count: number };
  if (seeded.bytes !== MODEL_BYTES || seeded.count !== MODEL_FILES)
    throw new Error(`seeded ${JSON.stringify(seeded)}, not ${MODEL_FILES} files of ${MODEL_BYTES} bytes in all`);
  // As copyVersion decides it: --checksum when the backend has a hash (S3: MD5).
  const features = JSON.parse(await rclone.run(['backend', 'features', '--', 's3:'])) as { Hashes?: string[] };
  const checksum = (features.Hashes ?? []).some((h) => h !== 'none');
  const flags = ['--transfers', String(TRANSFERS), '--checkers', '8', '--low-level-retries', '10'].concat(
    checksum ? ['--checksum'] : [],
  );
  const work = join(box.dir, 'work');
  const stateDir = join(work, 'state', 'rclone-devbox');
  mkdirSync(stateDir, { recursive: true });

  /** A whole copy of the version is at `dir`: every file, every byte. */
  const checkCopy = async (dir: string, who: string) => {
    const bytes = await sizeOf(dir);
    if (bytes !== MODEL_BYTES) throw new Error(`${who}: ${bytes} bytes at ${dir}, not ${MODEL_BYTES}`);
  };

  let n = 0;
  /** A fresh destination under `work` for one run, removed afterwards whatever happens. */
  const fresh = async (who: string, copy: (dest: string) => Promise<void>): Promise<number> => {
    const dir = join(work, `${who}-${++n}`);
    const dest = join(dir, MODEL);
    try {
      const ms = await timed(() => copy(dest));
      await checkCopy(dest, who);
      return ms;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const theirs = () =>
    fresh('theirs', async (dest) => {
      await execa(rclone.path, ['--config', config, 'copy', ...flags, '--', source, dest], {
        env: rclone.env,
        extendEnv: false,
        stdin: 'ignore',
        timeout: 600_000,
      });
    });
  const ours = () =>
    fresh('ours', async (dest) => {
      const r = await copyVersion(rclone, source, dest, { stateDir, transfers: TRANSFERS });
      if (!r.copied || r.bytes !== MODEL_BYTES) throw new Error(`copyVersion: ${JSON.stringify(r)}`);
    });

  // ---- the CLI's workspace: a copy-mode profile, a task that links ./cache_hub (no command) ----
  const ws = join(work, 'ws');
  mkdirSync(join(ws, '.vscode'), { recursive: true });
  const mountPoint = join(work, 'mnt', BUCKET); // never made: copy mode mounts nothing
  writeFileSync(
    join(ws, '.vscode', 'settings.json'),
    JSON.stringify({ 'rclone.mounts': [{ remote: `s3:${BUCKET}`, mountPoint, mode: 'copy' }] }, null, 2),
  );
  const task = { type: 'rclone-devbox', label: 'webui', mount: `s3:${BUCKET}`, link: { cache_hub: MODEL } };
  writeFileSync(join(ws, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [task] }, null, 2));
  const env = cliEnv(box, work, { RCLONE_CONFIG: config });
  const local = join(ws, '.rclone-devbox', 's3', BUCKET, MODEL);
  const cleanWs = () => {
    rmSync(join(ws, '.rclone-devbox'), { recursive: true, force: true });
    rmSync(join(ws, 'cache_hub'), { force: true });
  };
  let lastUp = '';
  const up = async (): Promise<number> => {
    cleanWs();
    try {
      const t0 = performance.now();
      const r = await execa(process.execPath, [CLI, 'up', '--no-app'], {
        cwd: ws,
        env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        timeout: 600_000,
      });
      const ms = performance.now() - t0;
      lastUp = String(r.stdout);
      if (r.exitCode !== 0) throw new Error(`rclone-devbox up exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
      if (readlinkSync(join(ws, 'cache_hub')) !== local) throw new Error(`./cache_hub is not linked to ${local}`);
      await checkCopy(local, 'up');
      return ms;
    } finally {
      cleanWs();
    }
  };
  // The CLI as on a box it ran on before: the rclone version cached (cli.bench.ts times a first run).
  await execa(process.execPath, [CLI, '--version'], { env, extendEnv: false });

  console.log(
    `\nCopy mode, ${LINK_MS} ms per request, ${MODEL_FILES} files (${FILES} x ${FILE_MB} MB random + ${Object.keys(SMALL).length} small), ` +
      `${(MODEL_BYTES / 2 ** 20).toFixed(0)} MB; seeded in ${s(seedMs)}; rclone copy ${flags.join(' ')}; ` +
      `median [min–max] of ${RUNS} pairs (${cpus().length} cores, load ${load()}, rclone ${rclone.version.text}, node ${process.version})`,
  );

  // One pair not counted: the server's files into the page cache, the first rclone start behind us.
  const warm = { ours: await ours(), theirs: await theirs(), up: await up() };
  console.log(
    `warm-up (not counted): ours ${warm.ours.toFixed(0)} ms, rclone copy ${warm.theirs.toFixed(0)} ms, up ${warm.up.toFixed(0)} ms`,
  );

  /** Paired runs, alternated: ours first in even runs, theirs first in odd ones. */
  const pairs = async (oursWay: () => Promise<number>) => {
    const r = { ours: [] as number[], theirs: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        r.ours.push(await oursWay());
        r.theirs.push(await theirs());
      } else {
        r.theirs.push(await theirs());
        r.ours.push(await oursWay());
      }
    }
    return r;
  };
  const copy = await pairs(ours);
  const cli = await pairs(up);

  // ---- where ours' time goes before the copy: its two rclone calls, and the CLI's start ----
  const pre = { size: [] as number[], features: [] as number[], both: [] as number[], version: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    pre.size.push(await timed(() => rclone.run(['size', '--json', '--', source], { target: source })));
    pre.features.push(await timed(() => rclone.run(['backend', 'features', '--', 's3:'], { target: 's3:' })));
    pre.both.push(
      await timed(() =>
        Promise.all([
          rclone.run(['size', '--json', '--', source], { target: source }),
          rclone.run(['backend', 'features', '--', 's3:'], { target: 's3:' }),
        ]),
      ),
    );
    pre.version.push(
      await timed(() => execa(process.execPath, [CLI, '--version'], { env, extendEnv: false, stdin: 'ignore' })),
    );
  }

  const row = (name: string, xs: number[]) => console.log(`${name.padEnd(70)} ${spread(xs)}`);
  console.log('');
  row('ours: copyVersion (size + features, then rclone copy, rename)', copy.ours);
  row('theirs: rclone copy (paired with the row above)', copy.theirs);
  row('ours: node dist/cli.js up --no-app (mode "copy", link ./cache_hub)', cli.ours);
  row('theirs: rclone copy (paired with the row above)', cli.theirs);
  row('  rclone size --json (ours, before the copy)', pre.size);
  row('  rclone backend features (ours, before the copy)', pre.features);
  row('  both side by side (what copyVersion waits for before copying)', pre.both);
  row('  node dist/cli.js --version (the CLI process start, floor)', pre.version);
  const mbps = (ms: number) => ((MODEL_BYTES / 2 ** 20 / ms) * 1000).toFixed(0);
  console.log(
    `rclone copy at ${mbps(median([...copy.theirs, ...cli.theirs]))} MB/s through the link; ` +
      `ours' steps (the last up): ${lastUp
        .split('\n')
        .filter((l) => /^(storage|copy|link) /.test(l))
        .join('; ')}`,
  );

  const before = () =>
    `size + features side by side ${median(pre.both).toFixed(0)} ms before rclone copy starts ` +
    `(size alone ${median(pre.size).toFixed(0)} ms, features alone ${median(pre.features).toFixed(0)} ms)`;
  const target: Target = { op: '>=', value: 0.9, note: 'ours ≤ 1.11× rclone copy alone' };
  saveResults(
    {
      copy_vs_rclone: explain(
        speedup(copy.theirs, copy.ours, target),
        () =>
          `copyVersion ${median(copy.ours).toFixed(0)} ms vs rclone copy ${median(copy.theirs).toFixed(0)} ms: ${before()}`,
      ),
      copy_up_vs_rclone: speedup(cli.theirs, cli.ours),
    },
    rclone.version.text,
  );
  console.log(
    `\n(up also starts Node and loads the CLI: --version takes ${median(pre.version).toFixed(0)} ms; ${before()})`,
  );
  console.log(`\ncopy bench: ${s(performance.now() - started)} (load ${load()})`);
});
