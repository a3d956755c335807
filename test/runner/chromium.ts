// Headless Chromium (driven by playwright-core from .cache/) and the URL of an Extension
// Development Host window of the VS Code server: shared by the test runner and the demo's smoke run.
import { CHROMIUM_ARGS, type Browser } from '../ui/playwright';
import type { VscodeServer } from './server';
import { loadPlaywright } from './vscodeCache';

const CHROMIUM = '/usr/bin/chromium';

/** `env`: Chromium's environment (default ours), e.g. XDG dirs so that its profile bits stay in a temp dir. */
export function launchChromium(env?: Record<string, string>): Promise<Browser> {
  return loadPlaywright().chromium.launch({
    executablePath: CHROMIUM,
    ...(env ? { env } : {}),
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
    // Playwright would close the browser and exit(130) on these itself, before our cleanup ran.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}

/**
 * A window of the server on `folder` with the extension at `extensionPath` loaded from source (the
 * `payload` URL parameter, honoured with --enable-smoke-test-driver), and its tests when given.
 * The paths are on the server's machine, named by the server's own authority (127.0.0.1:<port>).
 */
export function devHostUrl(server: VscodeServer, folder: string, extensionPath: string, testsPath?: string): string {
  const remote = (path: string) => `vscode-remote://127.0.0.1:${server.port}${path}`;
  const payload: Array<[string, string]> = [['extensionDevelopmentPath', remote(extensionPath)]];
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  const query = new URLSearchParams({ folder, payload: JSON.stringify(payload) });
  return `${server.origin}/?${query}`;
}
