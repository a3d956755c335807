// Prewarm benchmark: ours against the seed script's way and against rclone itself, side by side in
// one run, through a loopback link with 15 ms added to every request (test/helpers/proxy.ts).
//   metadata    warmMetadata (the mount's rc: vfs/refresh recursive) of 2,000 objects in 100
//               folders vs the seed's `rclone lsl` of them (a separate process, one HEAD per object)
//               and vs `rclone lsf -R --fast-list` (the floor); then `find` over the folder (the
//               traversal a user or a model loader makes) through a fresh (cold) mount vs through
//               the mount after warmMetadata
//   first page  the first 500 entries of a big folder (listFolder, ListR pages) vs `rclone lsjson`
//               of the whole folder (what a user of rclone alone waits for)
//   content     warmContent of 4 x 64 MB model files on a `--vfs-cache-mode full` mount (a fresh
//               cache dir each run) vs `rclone copy --transfers CONTENT_READERS` of them to a local
//               dir; and the bytes that crossed the link per file byte
//   npm run bench
import { execa } from 'execa';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { listFolder } from '../src/core/listing';
import { MountRegistry } from '../src/core/mounts';
import { CONTENT_READERS, targetOf, type WarmTarget, warmContent, warmMetadata } from '../src/core/prewarm';
import type { MountProfile } from '../src/core/profile';
import { Rclone } from '../src/core/rclone';
import { type Box, s3Remote, tempDir } from '../test/helpers/fixtures';
import {
  benchOnBox,
  cpuSeconds,
  explain,
  figure,
  Interrupts,
  LINK_MS,
  median,
  type Ratio,
  sampleCpu,
  saveResults,
  speedup,
} from './results';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** `rclone lsl` makes one HEAD per object (~80 s for 2,000 here): 2 runs of it are enough. */
const SEED_RUNS = Math.min(RUNS, Number(process.env.BENCH_SEED_RUNS ?? 2));
/** The whole-folder `rclone lsjson` of the big folder takes seconds (s3rver walks the folder again for every page). */
const PAGE_RUNS = Number(process.env.BENCH_PAGE_RUNS ?? 3);
const CONTENT_RUNS = Number(process.env.BENCH_CONTENT_RUNS ?? 3);
const FOLDERS = 100;
const PER_FOLDER = 20;
/** The folder of the first-page figure: 20,000 objects asked for; BENCH_BIG changes it. */
const WANTED_BIG = 20_000;
const BIG = Number(process.env.BENCH_BIG ?? WANTED_BIG);
const MODELS = 4;
const MODEL_MB = 64;
const SEED_TRANSFERS = 32;

const interrupts = new Interrupts();

/** `find <dir>`, the real one, as a user runs it: the number of entries below `dir`. */
async function find(dir: string): Promise<number> {
  const r = await execa('find', [dir], { stdin: 'ignore', timeout: 120_000 });
  return String(r.stdout).split('\n').length - 1; // find prints `dir` itself first
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await work();
  return { ms: performance.now() - t0, value };
}

/** One `rclone copy` (straight to the S3 server, not through the link) of a local tree written by `write`. */
async function seed(box: Box, bucket: string, write: (dir: string) => void): Promise<number> {
  const src = tempDir('rdb-bench-seed-');
  interrupts.add(src.path);
  try {
    write(src.path);
    const copy = ['copy', '--transfers', String(SEED_TRANSFERS), '--checkers', '16', '--', src.path, `s3:${bucket}`];
    // s3rver under 32 parallel PUTs now and then stores an empty object: rclone checks, and uploads it again.
    return (await timed(() => box.rclone.run(copy, { timeoutMs: 600_000, retries: 3 }))).ms;
  } finally {
    src.dispose();
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const load = () => loadavg()[0]!.toFixed(1);

benchOnBox(interrupts, ['models'], async (box, proxy) => {
  const started = performance.now();
  let registry: MountRegistry | undefined;
  try {
    // s3rver lists a prefix only one level deep: every top-level folder gets a `.keep` marker.
    const seedTree = await seed(box, 'models', (dir) => {
      for (let f = 0; f < FOLDERS; f++) {
        const d = join(dir, 'tree', `d-${String(f).padStart(3, '0')}`);
        mkdirSync(d, { recursive: true });
        for (let i = 0; i < PER_FOLDER; i++)
          writeFileSync(join(d, `o-${String(i).padStart(2, '0')}.json`), `{"n":${i}}`);
      }
      writeFileSync(join(dir, 'tree', '.keep'), '');
    });
    const seedBig = await seed(box, 'models', (dir) => {
      mkdirSync(join(dir, 'big'));
      for (let i = 1; i <= BIG; i++)
        writeFileSync(join(dir, 'big', `file-${String(i).padStart(5, '0')}.bin`), 'x'.repeat(16));
      writeFileSync(join(dir, 'big', '.keep'), '');
    });
    const seedModels = await seed(box, 'models', (dir) => {
      mkdirSync(join(dir, 'weights'));
      writeFileSync(join(dir, 'weights', '.keep'), '');
      for (let i = 0; i < MODELS; i++)
        writeFileSync(join(dir, 'weights', `m${i}.pth`), Buffer.alloc(MODEL_MB << 20, i + 1));
    });
    console.log(
      `Seeded, one rclone copy each (--transfers ${SEED_TRANSFERS}): ${FOLDERS * PER_FOLDER} objects in ${FOLDERS} folders in ${s(seedTree)}, ` +
        `${BIG} objects in one folder in ${s(seedBig)}, ${MODELS} x ${MODEL_MB} MB in ${s(seedModels)}`,
    );

    const file = join(box.dir, 'link.conf');
    writeFileSync(file, s3Remote('s3', proxy.endpoint), { mode: 0o600 });
    const rclone = await Rclone.locate({ configFile: file });
    const raw = (args: string[]) =>
      execa(rclone.path, ['--config', file, ...args], { env: rclone.env, extendEnv: false });
    const work = join(box.dir, 'work');
    const mnt = join(work, 'mnt');
    mkdirSync(mnt, { recursive: true });
    let n = 0;
    /** A fresh mount: a new registry, state dir and cache dir, so nothing of an earlier run is kept. */
    const mount = async (extra: Partial<MountProfile> = {}): Promise<WarmTarget> => {
      registry?.dispose();
      registry = new MountRegistry(rclone, { stateDir: join(work, `state-${++n}`) });
      const mounted = await registry.mount({
        remote: 's3:models',
        mountPoint: mnt,
        cacheDir: join(work, `cache-${n}`),
        ...extra,
      });
      return targetOf(registry, mounted);
    };
    const unmount = async () => {
      await registry!.unmount(mnt);
      rmSync(join(work, `cache-${n}`), { recursive: true, force: true });
      rmSync(join(work, `state-${n}`), { recursive: true, force: true });
    };

    console.log(
      `\nPrewarm, ${LINK_MS} ms per request (${cpus().length} cores, load ${load()}, rclone ${rclone.version.text}, node ${process.version})`,
    );

    // ---- metadata: 2,000 objects in 100 folders ----
    const tree = 's3:models/tree';
    const entries = FOLDERS * PER_FOLDER + FOLDERS + 1; // objects, folders, the .keep
    const m = {
      ours: [] as number[],
      lsf: [] as number[],
      lsl: [] as number[],
      warm: [] as number[],
      cold: [] as number[],
    };
    const req = { warmMetadata: [] as number[], warmTraversal: [] as number[], coldTraversal: [] as number[] };
    const counted = async <T>(into: number[], work: () => Promise<T>) => {
      const before = proxy.requests.length;
      const r = await timed(work);
      into.push(proxy.requests.length - before);
      return r;
    };
    for (let i = 0; i < RUNS; i++) {
      // Interleaved, so a noisy moment on the box hits both sides.
      const t = await mount();
      const warmed = await counted(req.warmMetadata, () => warmMetadata(t, ['tree']));
      if (warmed.value.way !== 'rc' || warmed.value.files < FOLDERS * PER_FOLDER)
        throw new Error(`warmMetadata: ${JSON.stringify(warmed.value)}`);
      m.ours.push(warmed.ms);
      const warm = await counted(req.warmTraversal, () => find(join(mnt, 'tree')));
      if (warm.value !== entries) throw new Error(`the warm traversal saw ${warm.value} entries, not ${entries}`);
      m.warm.push(warm.ms);
      await unmount();

      await mount();
      const cold = await counted(req.coldTraversal, () => find(join(mnt, 'tree')));
      if (cold.value !== entries) throw new Error(`the cold traversal saw ${cold.value} entries, not ${entries}`);
      m.cold.push(cold.ms);
      await unmount();

      const lsf = await timed(() => raw(['lsf', '-R', '--fast-list', '--', tree]));
      if (String(lsf.value.stdout).split('\n').filter(Boolean).length !== entries)
        throw new Error('rclone lsf saw another tree');
      m.lsf.push(lsf.ms);
      if (i < SEED_RUNS) m.lsl.push((await timed(() => raw(['lsl', '--', tree]))).ms);
    }

    // ---- first page of a big folder ----
    const big = 's3:models/big';
    const p = { ours: [] as number[], lsjson: [] as number[] };
    for (let i = 0; i < PAGE_RUNS; i++) {
      const page = await timed(() => listFolder(rclone, big, { listR: true, limit: 500 }));
      if (page.value.entries.length !== 500 || !page.value.more) throw new Error('the first page is not 500 entries');
      p.ours.push(page.ms);
      const all = await timed(() => raw(['lsjson', '--no-modtime', '--no-mimetype', '--', big]));
      if ((JSON.parse(String(all.value.stdout)) as unknown[]).length !== BIG + 1)
        throw new Error('rclone lsjson saw another folder');
      p.lsjson.push(all.ms);
    }

    // ---- content: model files ----
    const fileBytes = MODELS * (MODEL_MB << 20);
    const c = {
      ours: [] as number[],
      setup: [] as number[],
      copy: [] as number[],
      wire: [] as number[],
      /** Requests during warmContent: HEADs (a stat of a file on a full-cache mount makes one) and the rest. */
      heads: [] as number[],
      others: [] as number[],
      cpu: { mount: [] as number[], ourNode: [] as number[], copy: [] as number[], copyNode: [] as number[] },
    };
    for (let i = 0; i < CONTENT_RUNS; i++) {
      const t = await mount({ cacheMode: 'full' });
      const down = proxy.bytesDown();
      const req0 = proxy.requests.length;
      const cpu0 = { mount: cpuSeconds(t.pid!) ?? 0, node: process.cpuUsage() };
      let setup = 0;
      const t0 = performance.now();
      const warmed = await timed(() =>
        warmContent(t, ['weights'], { onProgress: () => (setup ||= performance.now() - t0) }),
      );
      c.cpu.mount.push((cpuSeconds(t.pid!) ?? 0) - cpu0.mount);
      const node = process.cpuUsage(cpu0.node);
      c.cpu.ourNode.push((node.user + node.system) / 1e6);
      if (warmed.value.bytes !== fileBytes) throw new Error(`warmContent read ${warmed.value.bytes} bytes`);
      c.wire.push((proxy.bytesDown() - down) / fileBytes);
      c.ours.push(warmed.ms);
      c.setup.push(setup);
      const during = proxy.requests.slice(req0);
      c.heads.push(during.filter((r) => r.startsWith('HEAD ')).length);
      c.others.push(during.filter((r) => !r.startsWith('HEAD ')).length);
      await unmount();

      const to = join(work, 'copy');
      const copyNode = process.cpuUsage();
      const copy = await timed(async () => {
        const child = raw(['copy', '--transfers', String(CONTENT_READERS), '--', 's3:models/weights', to]);
        const sampled = sampleCpu(child.pid!);
        try {
          return await child;
        } finally {
          c.cpu.copy.push(sampled.stop());
        }
      });
      const proxyCpu = process.cpuUsage(copyNode);
      c.cpu.copyNode.push((proxyCpu.user + proxyCpu.system) / 1e6);
      c.copy.push(copy.ms);
      rmSync(to, { recursive: true, force: true });
    }

    const row = (name: string, xs: number[], note = '') =>
      console.log(`${name.padEnd(62)} ${median(xs).toFixed(0).padStart(7)} ms  ${note}`);
    console.log(`\n${FOLDERS * PER_FOLDER} objects in ${FOLDERS} folders, median of ${RUNS} (${SEED_RUNS} for lsl):`);
    row('ours: warmMetadata (the mount rc: vfs/refresh recursive)', m.ours, `${median(req.warmMetadata)} requests`);
    row('rclone lsf -R --fast-list (the floor)', m.lsf);
    row('seed script: rclone lsl (a separate process)', m.lsl);
    row('find through the mount after warmMetadata', m.warm, `${median(req.warmTraversal)} requests`);
    row('find through a fresh (cold) mount', m.cold, `${median(req.coldTraversal)} requests`);
    console.log(`\n${BIG} objects in one folder, median of ${PAGE_RUNS}:`);
    row('ours: first page of 500 (listFolder, ListR)', p.ours);
    row('rclone lsjson --no-modtime --no-mimetype of the whole folder', p.lsjson);
    console.log(`\n${MODELS} x ${MODEL_MB} MB model files, median of ${CONTENT_RUNS}:`);
    row(
      'ours: warmContent (cache mode full, fresh cache)',
      c.ours,
      `setup ${median(c.setup).toFixed(0)} ms; ${median(c.heads)} HEAD + ${median(c.others)} other requests; ${median(c.wire).toFixed(4)} x the file bytes crossed the link`,
    );
    row(`rclone copy --transfers ${CONTENT_READERS} to a local dir`, c.copy);
    const cpu = (xs: number[]) => `${median(xs).toFixed(2)} s`;
    console.log(
      `CPU: ours ${cpu(c.cpu.mount)} (mount's rclone) + ${cpu(c.cpu.ourNode)} (this process: reads and the proxy); ` +
        `copy ${cpu(c.cpu.copy)} (rclone, sampled) + ${cpu(c.cpu.copyNode)} (this process: the proxy)`,
    );

    const perReaddir = median(m.warm) / (FOLDERS + 1);
    const ratios: Record<string, Ratio> = {
      prewarm_vs_seed: explain(
        speedup(m.lsl, m.ours, { op: '>=', value: 50 }),
        () =>
          `lsl ${s(median(m.lsl))}; warmMetadata ${median(m.ours).toFixed(0)} ms with ${median(req.warmMetadata)} requests`,
      ),
      prewarm_vs_floor: explain(
        speedup(m.lsf, m.ours, { op: '>=', value: 0.83, note: 'ours <= 1.2x the floor' }),
        () =>
          `warmMetadata ${median(m.ours).toFixed(0)} ms for ${median(req.warmMetadata)} list requests (an rc job polled every <= 100 ms) vs rclone lsf ${median(m.lsf).toFixed(0)} ms`,
      ),
      traversal_warm_vs_cold: explain(
        speedup(m.cold, m.warm, { op: '>=', value: 50 }),
        () =>
          `the warm find asks the bucket nothing (${median(req.warmTraversal)} requests) yet takes ${median(m.warm).toFixed(0)} ms: ` +
          `${perReaddir.toFixed(2)} ms per folder through FUSE (${FOLDERS + 1} folders, kernel lookup + readdir, nothing cached in the kernel on a new mount); ` +
          `the cold one makes ${median(req.coldTraversal)} list requests in ${median(m.cold).toFixed(0)} ms`,
      ),
      first_page_vs_lsjson: speedup(
        p.lsjson,
        p.ours,
        undefined,
        BIG < WANTED_BIG
          ? `${BIG} objects, not ${WANTED_BIG}: seeding took ${s(seedBig)} here (one rclone copy, --transfers ${SEED_TRANSFERS}) and one whole-folder lsjson ${s(median(p.lsjson))}; see bench/RESULTS.md for the 20,000 measurement`
          : undefined,
      ),
      content_vs_floor: explain(speedup(c.copy, c.ours, { op: '>=', value: 0.8 }), () => {
        const read = median(c.ours) - median(c.setup);
        return (
          `warmContent ${median(c.ours).toFixed(0)} ms = ${median(c.setup).toFixed(0)} ms before the first read (one rc operations/list) + ${read.toFixed(0)} ms reading, which includes ${median(c.heads)} HEAD requests rclone's VFS makes on the first lookup of each file (S3 keeps the modification time in object metadata; FUSE makes a folder's lookups one at a time) that rclone copy does not need ` +
          `(${((fileBytes / 2 ** 20 / read) * 1000).toFixed(0)} MB/s through FUSE and the VFS cache) vs rclone copy ${median(c.copy).toFixed(0)} ms ` +
          `(${((fileBytes / 2 ** 20 / median(c.copy)) * 1000).toFixed(0)} MB/s); CPU ours ${cpu(c.cpu.mount)} rclone + ${cpu(c.cpu.ourNode)} node ` +
          `vs copy ${cpu(c.cpu.copy)} rclone + ${cpu(c.cpu.copyNode)} node (the proxy), on ${cpus().length} cores at load ${load()}`
        );
      }),
      content_bytes_ratio: {
        ...explain(
          figure(c.wire, { op: '<=', value: 1.05, note: 'smaller is better: link bytes / file bytes' }),
          () => `${(((median(c.wire) - 1) * fileBytes) / 2 ** 20).toFixed(1)} MB more than the files crossed the link`,
        ),
        ours_ms: Number(median(c.ours).toFixed(1)),
      },
    };
    saveResults(ratios, rclone.version.text);
    console.log(`\nprewarm bench: ${s(performance.now() - started)} (load ${load()})`);
  } finally {
    registry?.dispose();
  }
});
