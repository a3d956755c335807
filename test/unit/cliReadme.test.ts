// The README's CLI examples work right after `npm ci`: npm ci runs the `prepare` script, which
// builds dist/cli.js, and every `node dist/cli.js …` line of the README's CLI section is run as
// written, in order, against a real S3 server (only the mount point is moved into a temp folder).
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRcloneMounts } from '../../src/core/mountinfo';
import { CLI, cli, cliEnv } from '../helpers/cli';
import { type Box, putObjects, ROOT, s3Remote, startBox, tempDir } from '../helpers/fixtures';
import { cleanUp } from '../helpers/mounts';

/** The `node dist/cli.js …` lines of each sh block of the README's "The headless CLI" section. */
function examples(): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## The headless CLI\n');
  assert.ok(start >= 0, 'the README has a CLI section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!.split('\n').filter((l) => l.startsWith('node dist/cli.js ')),
  );
}

describe("the README's CLI examples", () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  before(async () => {
    box = await startBox(['index-tts-data']);
    await putObjects(box, 'index-tts-data', { 'cache_hub/.keep': '', 'cache_hub/gpt.pth': 'weights' });
    work = tempDir('rdb-readme-');
    const conf = join(work.path, 'rclone.conf');
    writeFileSync(conf, s3Remote('compshare', box.s3.endpoint), { mode: 0o600 });
    env = cliEnv(box, work.path, { RCLONE_CONFIG: conf });
  });
  after(async () => {
    if (work) await cleanUp([work.path]);
    await box?.dispose();
    work?.dispose();
  });

  const argv = (line: string) =>
    line
      .replace(/\s+#.*$/, '')
      .split(/\s+/)
      .slice(2)
      .map((a) => a.replace('/mnt/index-tts-storage', join(work.path, 'index-tts-storage')));

  it('`npm ci` builds dist/cli.js: its prepare script does', async () => {
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    assert.ok(scripts.prepare, 'npm ci runs "prepare" (after installing); there is one');
    const before = Date.now();
    const r = await execa('npm', ['run', '--silent', 'prepare'], { cwd: ROOT, reject: false, timeout: 120_000 });
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.ok(statSync(CLI).mtimeMs >= before - 1_000, 'dist/cli.js was (re)built');
  });

  it('each example runs as written, in order', async () => {
    const [main, repair] = examples();
    assert.ok(main && main.length >= 6 && repair?.length === 1, 'the examples are where this test looks');
    for (const line of main) {
      const r = await cli(argv(line), env);
      assert.equal(r.code, 0, `${line}\n${r.stderr}`);
      assert.notEqual(r.stdout, '', line);
    }
    // The repair example is for a dead mount: make one (its rclone killed), then run it.
    const mnt = join(work.path, 'index-tts-storage');
    const m = await cli(['mount', 'compshare:index-tts-data', mnt], env);
    assert.equal(m.code, 0, m.stderr);
    process.kill(Number(/rclone pid (\d+)/.exec(m.stdout)![1]), 'SIGKILL');
    const r = await cli(argv(repair[0]!), env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (await readRcloneMounts()).some((e) => e.mountPoint === mnt),
      false,
    );
  });
});
