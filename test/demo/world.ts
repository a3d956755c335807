// What the demo sets up before the editor opens: a local S3 server with an IndexTTS2-like bucket, a
// throwaway rclone config pointing at it, a workspace with a webui.py stand-in, and the editor
// settings with a mount profile. All of it lives under one temp dir (the S3 server keeps its
// objects in its own temp dir, removed when it stops), so cleanup finds everything by that prefix.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Rclone } from '../../src/core/rclone';
import { ROOT, s3Remote, startS3, type S3Server } from '../helpers/fixtures';
import { writeSettings } from '../integration/box';
import { QUIET_EDITOR } from '../runner/editorSettings';

export const REMOTE = 'demo';
export const BUCKET = 'index-tts-data';
/** Checked through the mount by the smoke run (its bytes are known here). */
export const MODEL_FILE = 'cache_hub_v23/models/gpt.pth';
/** A name that is not ASCII, as real sample folders have. */
export const SAMPLE_FILE = 'audio_samples/示例音频.wav';

export interface DemoWorld {
  /** The temp dir everything lives under (canonical: mount points are compared in that form). */
  dir: string;
  s3: S3Server;
  configFile: string;
  workspace: string;
  /** The mount profile's mount point. */
  mountPoint: string;
  /** The editor's --user-data-dir and --server-data-dir. */
  dataDir: string;
  extensionsDir: string;
  /** What the VS Code server (and so the extension and the rclone it starts) sees on top of our environment. */
  env: Record<string, string>;
  /** The bytes of MODEL_FILE as uploaded. */
  model: Buffer;
  /** Written to the user settings. */
  editorSettings: Record<string, unknown>;
  /** Written to the remote machine's settings: rclone.configFile, mountRoot and the mount profile. */
  rcloneSettings: Record<string, unknown>;
}

/** Deterministic filler for model files (a real checkpoint is just as opaque to the demo). */
function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

/** A short 440 Hz tone as 16-bit mono PCM WAV, so that the editor's media preview can play it. */
function wav(seconds: number, rate = 16_000): Buffer {
  const samples = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28); // bytes per second
  b.writeUInt16LE(2, 32); // bytes per frame
  b.writeUInt16LE(16, 34); // bits per sample
  b.write('data', 36);
  b.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++)
    b.writeInt16LE(
      Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate) * Math.min(1, (samples - i) / 800)),
      44 + i * 2,
    );
  return b;
}

/**
 * The bucket, laid out like IndexTTS2's. s3rver's delimiter listing sees only one level below a
 * prefix, so a folder whose objects are all deeper (cache_hub_v23/models/…) would be missing from
 * the bucket's root listing: every top-level folder gets a `.keep` marker object. Real S3 does not
 * need it.
 */
function bucketObjects(model: Buffer): Record<string, string | Buffer> {
  const tokenizer = {
    version: '1.0',
    model: { type: 'BPE', vocab: { '<s>': 0, '</s>': 1, '▁hello': 2, '▁world': 3 } },
  };
  return {
    'cache_hub/.keep': '',
    'cache_hub/config.yaml': 'version: "2.0"\ngpt_checkpoint: gpt.pth\n',
    'cache_hub/gpt.pth': bytes(1 << 20, 1),
    'cache_hub_v23/.keep': '',
    'cache_hub_v23/config.yaml':
      'version: "2.3"\ngpt_checkpoint: models/gpt.pth\nbigvgan: models/bigvgan_generator.pt\n',
    [MODEL_FILE]: model,
    'cache_hub_v23/models/bigvgan_generator.pt': bytes(1 << 20, 3),
    'cache_hub_v23/tokenizer/tokenizer.json': JSON.stringify(tokenizer, null, 2) + '\n',
    'audio_samples/.keep': '',
    [SAMPLE_FILE]: wav(1.5),
    'logs/.keep': '',
    'logs/webui.log': 'INFO  model loaded from ./cache_hub\nINFO  Running on http://127.0.0.1:7860\n',
  };
}

/** Writes `files` (relative path → content) under `root`. */
function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), body);
  }
}

/** Makes the demo's temp dir (first, so that a failure later still has something to clean up). */
export function makeDemoDir(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'rclone-devbox-demo-')));
}

/** Starts the S3 server, seeds the bucket and lays out config, workspace and settings under `dir`. */
export async function startWorld(dir: string, onS3: (s3: S3Server) => void): Promise<DemoWorld> {
  const sub = (name: string) => {
    mkdirSync(join(dir, name), { recursive: true });
    return join(dir, name);
  };
  const s3 = await startS3([BUCKET]);
  onS3(s3);
  // The demo's own config: RCLONE_CONFIG and rclone.configFile point here, never at the user's rclone.conf.
  const configFile = join(dir, 'rclone.conf');
  writeFileSync(configFile, s3Remote(REMOTE, s3.endpoint), { mode: 0o600 });
  // Uploaded through real rclone (core's runner, which also keeps AWS_CA_BUNDLE from breaking rclone 1.60).
  const model = bytes(2 << 20, 2);
  const seed = sub('seed');
  writeTree(seed, bucketObjects(model));
  const rclone = await Rclone.locate({ configFile });
  await rclone.run(['copy', '--transfers', '8', '--', seed, `${REMOTE}:${BUCKET}`], { timeoutMs: 60_000 });
  rmSync(seed, { recursive: true, force: true });

  const workspace = sub('workspace');
  writeTree(workspace, {
    // Stands in for IndexTTS2's webui.py: reads the model folder, serves a page (loopback only).
    // The one stand-in, which the unit tests start too.
    'webui.py': readFileSync(join(ROOT, 'test/fixtures/webui.py')),
    'README.md': WORKSPACE_README,
    // A project's own settings. Its existence also activates the extension when the window opens
    // (workspaceContains:.vscode/settings.json), so the status bar shows the mount at once.
    '.vscode/settings.json': JSON.stringify({ 'files.exclude': { '**/__pycache__': true } }, null, 2) + '\n',
  });
  const mountPoint = join(dir, 'mnt', 'index-tts-storage');
  const dataDir = sub('vscode-data');
  // Editor preferences go to the user settings (the browser side). The rclone settings go to the
  // remote machine's settings, where a Remote-SSH user keeps them for the box (and where machine-
  // scoped settings must be in a remote window). In the workspace's .vscode/settings.json they
  // would need a one-time approval first, which is the product's safety, not part of this tour.
  const rcloneSettings = {
    'rclone.configFile': configFile,
    'rclone.mountRoot': sub('mnt'),
    'rclone.mounts': [
      { remote: `${REMOTE}:${BUCKET}`, mountPoint, cacheMode: 'writes', cacheDir: join(dir, 'vfs-cache') },
    ],
  };
  writeSettings(dataDir, EDITOR_SETTINGS, ['User']);
  writeSettings(dataDir, rcloneSettings, ['Machine']);
  return {
    dir,
    s3,
    configFile,
    workspace,
    mountPoint,
    dataDir,
    extensionsDir: sub('ext'),
    model,
    editorSettings: EDITOR_SETTINGS,
    rcloneSettings,
    env: {
      RCLONE_CONFIG: configFile,
      // The editor's sockets and temp files, rclone's default cache and the extension's mount
      // records all go under the demo's dir, never to /tmp, ~/.cache or ~/.local/state.
      TMPDIR: sub('tmp'),
      XDG_CACHE_HOME: sub('cache'),
      XDG_STATE_HOME: sub('state'),
    },
  };
}

const EDITOR_SETTINGS = {
  ...QUIET_EDITOR,
  'workbench.startupEditor': 'readme', // the workspace's README.md says what to try
};

export const TOUR = [
  'Click the cloud icon (Rclone) in the activity bar: demo → index-tts-data → cache_hub_v23 …',
  'Mount it: the plug button on the index-tts-data row, or F1 → "Rclone: Mount…" → demo:index-tts-data',
  'The status bar (bottom left) says "mounted"; click it for Open in Terminal, Reveal, Unmount, Show Log',
  'Click a file under the mounted bucket (tokenizer.json, audio_samples/示例音频.wav) to open it from the mount',
  'Unmount: the button on the bucket row, or F1 → "Rclone: Unmount"',
];

const WORKSPACE_README = `# Rclone Dev Box demo

A local S3 server holds the bucket \`index-tts-data\` (laid out like IndexTTS2's), the rclone
remote \`demo\` points at it, and the remote settings have a mount profile for it.

${TOUR.map((s, i) => `${i + 1}. ${s}`).join('\n')}

\`webui.py\` stands in for the model's web UI. Everything here is removed when the demo stops
(Ctrl-C in its terminal).
`;
