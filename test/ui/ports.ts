// The Ports view check of the UI smoke test: VS Code auto-forwards ports it sees a process open;
// the rc port of an rclone mount must never be among them (under Remote-SSH that would forward
// rclone's remote-control API to the laptop). A control port opened by this test must be: it shows
// that auto-forwarding runs in this window at all, so the absence of the rc port means something.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { rclonePids } from '../helpers/procs';
import type { Page } from './playwright';

/** A listener on 127.0.0.1:<random>, printing its port; `tag` is on its argv so the runner's cleanup finds it. */
const LISTEN = "require('net').createServer().listen(0,'127.0.0.1',function(){console.log(this.address().port)})";

/** The rc port of the rclone mounted on `mountPoint`, from its argv (`--rc-addr 127.0.0.1:<port>`). */
export function rcPortOf(mountPoint: string): number {
  const [pid] = rclonePids(mountPoint);
  if (!pid) throw new Error(`no rclone process has ${mountPoint} on its command line`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const addr = argv[argv.indexOf('--rc-addr') + 1] ?? '';
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  if (!port) throw new Error(`rclone ${pid} has no --rc-addr: ${argv.join(' ')}`);
  return port;
}

/**
 * The rows of the Ports view (in the panel) as text: port, forwarded address (here a proxy URL of
 * the server), process, origin: "45857http://127.0.0.1:40985/proxy/45857//usr/bin/rclone … Auto Forwarded".
 */
export async function portRows(page: Page): Promise<string[]> {
  return (await page.locator('.part.panel .monaco-list-row').allTextContents()).map((t) =>
    t.replace(/\s+/g, ' ').trim(),
  );
}

/**
 * Opens a control port, waits (bounded) until the Ports view shows it auto-forwarded, then fails
 * if any row shows `rcPort` or an rclone process. The control process is ended in every case.
 */
export async function checkRcPortNotForwarded(
  page: Page,
  opts: { rcPort: number; tag: string; timeoutMs: number; openPortsView(): Promise<void> },
): Promise<void> {
  const control = spawn(process.execPath, ['-e', LISTEN, opts.tag], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const port = await new Promise<number>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('the control listener did not start within 10 s')), 10_000);
      createInterface({ input: control.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        ok(Number(line));
      });
      control.once('exit', (code) => fail(new Error(`the control listener exited with ${code}`)));
    });
    await opts.openPortsView();
    const deadline = Date.now() + opts.timeoutMs;
    let rows: string[] = [];
    const forwarded = (p: number) => (r: string) => r.startsWith(String(p)) || r.includes(`:${p}`);
    while (!(rows = await portRows(page)).some(forwarded(port))) {
      if (Date.now() > deadline)
        throw new Error(
          `the control port ${port} was not auto-forwarded within ${opts.timeoutMs / 1000} s; Ports view: ${JSON.stringify(rows)}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
    const leaked = rows.filter((r) => forwarded(opts.rcPort)(r) || /\brclone\b/.test(r));
    if (leaked.length) throw new Error(`the rc port ${opts.rcPort} was auto-forwarded: ${JSON.stringify(leaked)}`);
  } finally {
    control.kill();
  }
}
