// What the runner set up for the integration suites, as they see it inside the extension host.
// The runner passes it in RCLONE_DEVBOX_TEST_BOX (JSON); this file has no Node-side dependencies
// so that suites can import it without pulling the fixtures into the extension-host bundle.

export const BOX_ENV = 'RCLONE_DEVBOX_TEST_BOX';
export const REPORT_ENV = 'RCLONE_DEVBOX_TEST_REPORT';
export const GREP_ENV = 'RCLONE_DEVBOX_TEST_GREP';

/** Written by run() when it starts, so a runner can tell "never started" from "still running". */
export const startedMarker = (reportFile: string): string => `${reportFile}.started`;

export interface BoxInfo {
  /** Which runner started the editor: the VS Code server in Chromium, or desktop VS Code. */
  host: 'vscode-server' | 'electron';
  /** The local S3 server, e.g. http://127.0.0.1:40123 (credentials S3RVER/S3RVER). */
  endpoint: string;
  /** rclone.conf with the remote "s3" (also in the settings as rclone.configFile and in RCLONE_CONFIG). */
  configFile: string;
  /** Where mounts go (settings: rclone.mountRoot). Everything under it is unmounted by the runner. */
  mountRoot: string;
  /** The folder open in the window. */
  workspace: string;
  /** XDG_STATE_HOME of the editor and so of the extension. */
  stateDir: string;
  /** Bucket name → the object keys seeded into it. */
  buckets: Record<string, string[]>;
}

/** The box description; throws with a clear message when the suites run outside the runners. */
export function boxInfo(): BoxInfo {
  const text = process.env[BOX_ENV];
  if (!text)
    throw new Error(`${BOX_ENV} is not set: run the suites through out/test/vscode-server.js or out/test/electron.js`);
  return JSON.parse(text) as BoxInfo;
}

/** The secret the suites type into Add / Edit Remote, known to the runner, which watches for it (test/runner/secretWatch.ts). */
export const SECRET_ENV = 'RCLONE_DEVBOX_TEST_SECRET';
