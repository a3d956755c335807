// `rclone-devbox status` on real parts: a mount made by the CLI on real FUSE, a symlink into it, an
// app started and recorded by app.ts, all in a workspace folder of the test's own; and a profile in
// copy mode (its local copies and outputs). The box may have other people's mounts and apps: only
// what a test made is looked at. --json is checked against a JSON Schema of StatusJson, so a
// renamed or missing field fails.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { StatusJson } from '../../src/cli/status';
import { type AppRecord, startApp, stopApp, waitAppReady } from '../../src/core/app';
import { freePort } from '../../src/core/processes';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, ROOT, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp, records } from '../helpers/mounts';

// ---- a JSON Schema of StatusJson, and just enough of a validator for it ----

interface Schema {
  type?: string | string[];
  enum?: readonly unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  items?: Schema;
}

const str = { type: 'string' };
const int = { type: 'integer' };
const strOrNull = { type: ['string', 'null'] };

/** Every field required and nothing else allowed: a renamed field is both missing and unknown. */
const object = (properties: Record<string, Schema>): Schema => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  additionalProperties: false,
});

const STATUS_SCHEMA: Schema = object({
  version: { type: 'integer', enum: [1] },
  folder: str,
  mounts: {
    type: 'array',
    items: object({
      mountPoint: str,
      remote: str,
      state: { type: 'string', enum: ['mounted', 'stale', 'mounting', 'not answering'] },
      ours: { type: 'boolean' },
      pid: { type: ['integer', 'null'] },
      pendingUploads: int,
      cacheTrouble: strOrNull,
      credentials: { type: ['string', 'null'], enum: ['expired', 'refused', null] },
      cache: {
        ...object({ dir: str, bytesUsed: int, maxBytes: { type: ['integer', 'null'] } }),
        type: ['object', 'null'],
      },
      logFile: strOrNull,
    }),
  },
  links: {
    type: 'array',
    items: object({
      path: str,
      kind: { type: 'string', enum: ['symlink', 'missing', 'directory', 'file', 'other'] },
      target: strOrNull,
      mountPoint: strOrNull,
      live: { type: 'boolean' },
      problem: strOrNull,
      localCopy: { ...object({ root: str, version: str, bytes: int }), type: ['object', 'null'] },
    }),
  },
  copies: {
    type: 'array',
    items: object({
      remote: str,
      mountPoint: str,
      mode: { type: 'string', enum: ['copy', 'auto'] },
      uses: { type: 'string', enum: ['copy', 'mount'] },
      reason: str,
      root: str,
      versions: {
        type: 'array',
        items: object({ name: str, path: str, bytes: int, partial: { type: 'boolean' }, linked: { type: 'boolean' } }),
      },
      outputs: {
        type: 'array',
        items: object({ link: str, local: str, remote: str, pendingUploads: int }),
      },
      pendingUploads: int,
    }),
  },
  apps: {
    type: 'array',
    items: object({
      pid: int,
      label: strOrNull,
      url: strOrNull,
      port: { type: ['integer', 'null'] },
      state: { type: 'string', enum: ['listening', 'starting', 'running'] },
      cwd: str,
      logFile: str,
      startedAt: str,
    }),
  },
});

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

/** The ways `value` breaks `schema`, as "path: problem" (none: it conforms). */
function validate(value: unknown, schema: Schema, path = '$'): string[] {
  const types = schema.type === undefined ? undefined : ([] as string[]).concat(schema.type);
  const t = typeOf(value);
  if (types && !types.includes(t) && !(t === 'integer' && types.includes('number')))
    return [`${path}: ${t}, expected ${types.join(' or ')}`];
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not allowed`);
  if (t === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errors.push(`${path}: "${k}" is missing`);
    for (const [k, v] of Object.entries(o)) {
      const sub = schema.properties?.[k];
      if (sub) errors.push(...validate(v, sub, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: "${k}" is not a field of StatusJson`);
    }
  }
  if (t === 'array' && schema.items)
    (value as unknown[]).forEach((v, i) => errors.push(...validate(v, schema.items!, `${path}[${i}]`)));
  return errors;
}

/** Every key anywhere in a JSON value. */
const keysOf = (v: unknown): string[] =>
  v && typeof v === 'object'
    ? Object.entries(v).flatMap(([k, x]) => [...(Array.isArray(v) ? [] : [k]), ...keysOf(x)])
    : [];

// ---- the suite ----

describe('rclone-devbox status', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir> | undefined;
  const apps: Array<{ record: AppRecord; stateDir: string }> = [];
  before(async () => {
    box = await startBox(['models']);
    await putObjects(box, 'models', { 'cache_hub_v23/gpt.pth': 'weights', 'cache_hub_v23/bpe.model': 'tokens' });
  });
  after(() => box?.dispose());
  afterEach(async () => {
    for (const a of apps.splice(0)) await stopApp(a.record, a.stateDir, 2_000).catch(() => undefined);
    if (work) await cleanUp([work.path]);
    work?.dispose();
    work = undefined;
  });
  const fresh = () => (work = tempDir('rdb-clistatus-')).path;

  /** A workspace folder with its own .vscode/settings.json and tasks.json. */
  function workspace(dir: string, settings: object, tasks: object[]): string {
    const folder = join(dir, 'ws');
    mkdirSync(join(folder, '.vscode'), { recursive: true });
    writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
    writeFileSync(join(folder, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks }, null, 2));
    return folder;
  }

  it('shows a mount of ours, a link into it and the running app, as text and as JSON, without the rc password', async () => {
    const dir = fresh();
    const env = cliEnv(box, dir);
    const stateDir = join(dir, 'state', 'rclone-devbox'); // the CLI's, from XDG_STATE_HOME
    const mnt = join(dir, 'mnt');
    const vfs = join(dir, 'vfs');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const folder = workspace(
      dir,
      { 'rclone.mounts': [{ remote: 's3:models', mountPoint: mnt, cacheDir: vfs, cacheMaxSize: '100M' }] },
      [
        {
          type: 'rclone-devbox',
          label: 'Bring up webui.py',
          mount: 's3:models',
          link: { cache_hub: 'cache_hub_v23', voices: 'voices_v1' },
          command: ['python', 'webui.py', '--port', String(port)],
          readyUrl: url,
        },
      ],
    );
    const m = await cli(['mount', 's3:models', mnt, '--cache-dir', vfs, '--cache-max-size', '100M'], env);
    assert.equal(m.code, 0, m.stderr);
    const rclonePid = Number(/rclone pid (\d+)/.exec(m.stdout)![1]);
    symlinkSync(join(mnt, 'cache_hub_v23'), join(folder, 'cache_hub'));
    // The stand-in web UI reads ./cache_hub (through the mount) before it listens, as the real one does.
    const app = await startApp(
      {
        command: ['python3', join(ROOT, 'test/fixtures/webui.py'), '--port', String(port)],
        cwd: folder,
        readyUrl: url,
        env: { WEBUI_START_DELAY: '0' },
        label: 'Bring up webui.py',
      },
      { stateDir },
    );
    apps.push({ record: app.record, stateDir });
    await waitAppReady(app.record, { readyUrl: url, readyTimeoutMs: 20_000 }, { exited: app.exited });

    const t = await cli(['status'], env, 20_000, folder);
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.split('\n');
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('  ')),
      ['mounts', 'links', 'app'],
      'three sections, items indented under them',
    );
    const mine = lines.find((l) => l.startsWith(`  ${mnt} `));
    assert.ok(mine, t.stdout);
    assert.match(
      mine,
      / s3:models +mounted +ours, pid (\d+) +0 pending +cache \d+(?:\.\d)? (?:B|KB|MB) of 100 MB in (\S+)$/,
    );
    assert.equal(/pid (\d+)/.exec(mine)![1], String(rclonePid));
    assert.ok(mine.endsWith(` in ${vfs}`), mine);
    const linkLines = lines.slice(lines.indexOf('links') + 1, lines.indexOf('app'));
    assert.equal(linkLines.length, 2, t.stdout);
    assert.match(linkLines[0]!, new RegExp(`^  \\./cache_hub +→ ${mnt}/cache_hub_v23 +live \\(mount ${mnt}\\)$`));
    assert.match(linkLines[1]!, /^ {2}\.\/voices +no link here$/);
    // Aligned: the second column starts at the same place on every row of a section.
    assert.equal(linkLines[0]!.indexOf('→'), linkLines[1]!.indexOf('no link'));
    const appLines = lines.slice(lines.indexOf('app') + 1).filter(Boolean);
    assert.equal(appLines.length, 1, t.stdout);
    assert.match(
      appLines[0]!,
      new RegExp(`^  Bring up webui\\.py +pid ${app.record.pid} +${url} +listening +log ${app.record.logFile}$`),
    );

    const j = await cli(['status', '--json'], env, 20_000, folder);
    assert.equal(j.code, 0, j.stderr);
    const status = JSON.parse(j.stdout) as StatusJson;
    assert.deepEqual(validate(status, STATUS_SCHEMA), []);
    // The validator itself must catch a renamed field, a missing one and a wrong type.
    const renamed = JSON.parse(j.stdout) as { mounts: Array<Record<string, unknown>> };
    renamed.mounts[0]!.mountpoint = renamed.mounts[0]!.mountPoint;
    delete renamed.mounts[0]!.mountPoint;
    assert.deepEqual(validate(renamed, STATUS_SCHEMA), [
      '$.mounts[0]: "mountPoint" is missing',
      '$.mounts[0]: "mountpoint" is not a field of StatusJson',
    ]);
    const noApps = { ...status, apps: undefined };
    assert.deepEqual(validate(JSON.parse(JSON.stringify(noApps)), STATUS_SCHEMA), ['$: "apps" is missing']);
    assert.deepEqual(validate({ ...status, version: '1' }, STATUS_SCHEMA), ['$.version: string, expected integer']);

    assert.equal(status.version, 1);
    assert.equal(status.folder, folder);
    const mount = status.mounts.find((x) => x.mountPoint === mnt);
    assert.deepEqual(
      { ...mount, cache: { ...mount?.cache, bytesUsed: 0 } },
      {
        mountPoint: mnt,
        remote: 's3:models',
        state: 'mounted',
        ours: true,
        pid: rclonePid,
        pendingUploads: 0,
        cacheTrouble: null,
        credentials: null,
        cache: { dir: vfs, bytesUsed: 0, maxBytes: 100 * 1024 * 1024 },
        logFile: records(stateDir)[0]!.logFile,
      },
    );
    assert.deepEqual(status.links, [
      {
        path: join(folder, 'cache_hub'),
        kind: 'symlink',
        target: join(mnt, 'cache_hub_v23'),
        mountPoint: mnt,
        live: true,
        problem: null,
        localCopy: null,
      },
      {
        path: join(folder, 'voices'),
        kind: 'missing',
        target: null,
        mountPoint: null,
        live: false,
        problem: 'no link here',
        localCopy: null,
      },
    ]);
    assert.deepEqual(status.copies, [], 'no profile in copy mode');
    assert.deepEqual(status.apps, [
      {
        pid: app.record.pid,
        label: 'Bring up webui.py',
        url,
        port,
        state: 'listening',
        cwd: folder,
        logFile: app.record.logFile,
        startedAt: new Date(app.record.startedAt).toISOString(),
      },
    ]);
    // The mount's rc credentials are in its record, and nowhere in what status prints.
    const { pass } = records(stateDir)[0]!;
    assert.ok(pass.length >= 16);
    for (const out of [t.stdout, t.stderr, j.stdout, j.stderr])
      assert.ok(!out.includes(pass), 'the rc password was printed');
    assert.deepEqual(
      keysOf(status).filter((k) => /pass|user|secret|key|token|env|command/i.test(k)),
      [],
      'no field for credentials or for the app command line',
    );

    // Its rclone killed: the mount is stale, the link no longer live; status still exits 0.
    process.kill(rclonePid, 'SIGKILL');
    const dead = await cli(['status', '--json'], env, 20_000, folder);
    assert.equal(dead.code, 0, dead.stderr);
    const after = JSON.parse(dead.stdout) as StatusJson;
    assert.deepEqual(validate(after, STATUS_SCHEMA), []);
    const stale = after.mounts.find((x) => x.mountPoint === mnt);
    assert.equal(stale?.state, 'stale');
    assert.equal(stale?.cache, null, 'a dead rclone is not asked about its cache');
    assert.deepEqual(
      { live: after.links[0]!.live, problem: after.links[0]!.problem },
      { live: false, problem: 'its mount is stale' },
    );
  });

  it('with nothing mounted and no app: says so; a settings.json it cannot read is exit status 1', async () => {
    const dir = fresh();
    const env = cliEnv(box, dir);
    const folder = join(dir, 'empty');
    mkdirSync(folder);
    const t = await cli(['status'], env, 20_000, folder);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stderr, '');
    assert.match(t.stdout, /^links\n {2}\.\/cache_hub +no link here\napp\n {2}no app running$/m);
    const j = await cli(['status', '--json'], env, 20_000, folder);
    assert.equal(j.code, 0, j.stderr);
    const status = JSON.parse(j.stdout) as StatusJson;
    assert.deepEqual(validate(status, STATUS_SCHEMA), []);
    // Other people's mounts may be on this box; none of them is under this test's folder.
    assert.deepEqual(
      status.mounts.filter((m) => m.mountPoint.startsWith(dir)),
      [],
    );
    if (!status.mounts.length) assert.match(t.stdout, /^mounts\n {2}no rclone mounts$/m);
    assert.deepEqual(status.apps, []);
    assert.deepEqual(status.copies, []);
    assert.equal(status.links.length, 1);
    assert.equal(status.links[0]!.kind, 'missing');

    mkdirSync(join(folder, '.vscode'));
    writeFileSync(join(folder, '.vscode', 'settings.json'), '{ "rclone.mounts": [ }');
    const broken = await cli(['status'], env, 20_000, folder);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /^app\n {2}no app running$/m, 'what could be read is still shown');
    assert.match(broken.stderr, /settings\.json is not valid JSON/);
  });

  it('a profile in copy mode (no FUSE here): its mode and why, local versions, outputs pending upload; links to local copies are live', async () => {
    const dir = fresh();
    const fuse = join(dir, 'no-such-fuse-device');
    const env = cliEnv(box, dir, { RCLONE_DEVBOX_FUSE_DEVICE: fuse });
    const mnt = join(dir, 'mnt');
    const folder = workspace(dir, { 'rclone.mounts': [{ remote: 's3:models', mountPoint: mnt, mode: 'auto' }] }, [
      {
        type: 'rclone-devbox',
        label: 'webui',
        mount: 's3:models',
        link: { cache_hub: 'cache_hub_v23', outputs: 'outputs/box-1', voices: 'voices_v1' },
      },
    ]);
    // What `up` leaves in copy mode, made by hand: a whole version, a cut-off one, an output folder.
    const root = join(folder, '.rclone-devbox', 's3', 'models');
    mkdirSync(join(root, 'cache_hub_v23'), { recursive: true });
    writeFileSync(join(root, 'cache_hub_v23', 'gpt.pth'), 'w'.repeat(2048));
    mkdirSync(join(root, '.cache_hub_v24.partial'));
    writeFileSync(join(root, '.cache_hub_v24.partial', 'gpt.pth'), 'w'.repeat(100));
    mkdirSync(join(root, 'outputs', 'box-1'), { recursive: true });
    writeFileSync(join(root, 'outputs', 'box-1', 'a.wav'), 'RIFF');
    symlinkSync(join(root, 'cache_hub_v23'), join(folder, 'cache_hub'));
    symlinkSync(join(root, 'outputs', 'box-1'), join(folder, 'outputs'));
    symlinkSync(join(root, '.voices_v1.partial'), join(folder, 'voices')); // never whole yet

    const j = await cli(['status', '--json'], env, 20_000, folder);
    assert.equal(j.code, 0, j.stderr);
    const status = JSON.parse(j.stdout) as StatusJson;
    assert.deepEqual(validate(status, STATUS_SCHEMA), []);
    assert.deepEqual(
      status.links.map((l) => [l.live, l.problem, l.localCopy]),
      [
        [true, null, { root, version: 'cache_hub_v23', bytes: 2048 }],
        [true, null, { root, version: 'outputs/box-1', bytes: 4 }],
        [false, 'not a whole local copy', null],
      ],
    );
    assert.deepEqual(status.copies, [
      {
        remote: 's3:models',
        mountPoint: mnt,
        mode: 'auto',
        uses: 'copy',
        reason: `FUSE is not available: ${fuse} does not exist`,
        root,
        versions: [
          { name: 'cache_hub_v23', path: join(root, 'cache_hub_v23'), bytes: 2048, partial: false, linked: true },
          {
            name: 'cache_hub_v24',
            path: join(root, '.cache_hub_v24.partial'),
            bytes: 100,
            partial: true,
            linked: false,
          },
        ],
        outputs: [
          {
            link: join(folder, 'outputs'),
            local: join(root, 'outputs', 'box-1'),
            remote: 's3:models/outputs/box-1',
            pendingUploads: 1,
          },
        ],
        pendingUploads: 1,
      },
    ]);
    assert.deepEqual(
      keysOf(status).filter((k) => /pass|user|secret|key|token|env|command/i.test(k)),
      [],
      'no field for credentials',
    );

    const t = await cli(['status'], env, 20_000, folder);
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.split('\n');
    assert.deepEqual(
      lines.filter((l) => !l.startsWith('  ')),
      ['mounts', 'links', 'copies', 'app'],
    );
    const linkLines = lines.slice(lines.indexOf('links') + 1, lines.indexOf('copies'));
    assert.deepEqual(linkLines, [
      `  ./cache_hub  → ${root}/cache_hub_v23 (local copy, 2.0 KB)`,
      `  ./outputs    → ${root}/outputs/box-1 (local outputs, 1 pending)`,
      `  ./voices     → ${root}/.voices_v1.partial  not a whole local copy`,
    ]);
    assert.deepEqual(lines.slice(lines.indexOf('copies') + 1, lines.indexOf('app')), [
      `  s3:models: local copies (auto: FUSE is not available: ${fuse} does not exist) in ${root}`,
      '    * cache_hub_v23  2.0 KB',
      '      cache_hub_v24   100 B  partial',
      '    ./outputs → s3:models/outputs/box-1  1 pending',
    ]);
  });
});
