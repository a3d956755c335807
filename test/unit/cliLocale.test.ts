// The CLI speaks the user's POSIX locale: with LANG=zh_CN.UTF-8 its usage, its command-line
// errors and its fixes are in simplified Chinese (l10n/bundle.l10n.zh-cn.json), with LANG=C.UTF-8
// the same runs print English; what scripts read (tab-separated listings) is the same in both.
// (execa drops the output's last newline.) A fix core wrote for the editor is still replaced by the CLI's own when core's text is Chinese:
// fixes.ts reads it back into English (the bundle's source) before matching it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as l10n from '@vscode/l10n';
import { cliFix, cliMessage, EDITOR_WORDS, englishOf, readsBundle } from '../../src/cli/fixes';
import { RcloneError } from '../../src/core/errors';
import { cli, cliEnv } from '../helpers/cli';
import { type Box, ROOT, startBox, tempDir } from '../helpers/fixtures';

const ZH = { LANG: 'zh_CN.UTF-8', LC_ALL: '', LC_MESSAGES: '' };
const EN = { LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '' };
const COMMANDS =
  'remotes, ls, permissions, mounts, mount, unmount, repair, prewarm, versions, link, rollback, setup, up, copies, upload, status, doctor, install-rclone';

describe('rclone-devbox in Chinese (LANG=zh_CN.UTF-8) and in English (LANG=C.UTF-8)', () => {
  let box: Box;
  let work: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  before(async () => {
    box = await startBox(['models']);
    work = tempDir('rdb-clilocale-');
    env = cliEnv(box, work.path);
  });
  after(async () => {
    await box?.dispose();
    work?.dispose();
  });

  it('usage and a command’s help', async () => {
    const zh = await cli([], { ...env, ...ZH });
    assert.equal(zh.code, 2);
    assert.match(
      zh.stderr,
      /^用法: rclone-devbox <command> \[-v\] …\n {2}remotes\n {8}列出远程存储（类型、提供商、端点；从不显示密钥）\n/,
    );
    assert.match(zh.stderr, /\n {2}--version {26}本工具的版本及其使用的 rclone\n/);
    assert.match(
      zh.stderr,
      /\nrclone 从 PATH（或 RCLONE_DEVBOX_RCLONE）中查找；使用 rclone 的配置文件（会遵循 RCLONE_CONFIG）。$/,
    );
    const en = await cli([], { ...env, ...EN });
    assert.equal(en.code, 2);
    assert.match(
      en.stderr,
      /^usage: rclone-devbox <command> \[-v\] …\n {2}remotes\n {8}list remotes \(type, provider, endpoint; never secrets\)\n/,
    );
    assert.doesNotMatch(en.stderr, /[\u4e00-\u9fff]/);
    // The syntax is never translated: the same usage lines, the same line count.
    assert.equal(zh.stderr.split('\n').length, en.stderr.split('\n').length);

    const mountZh = await cli(['mount', '--help'], { ...env, ...ZH });
    assert.equal(mountZh.code, 0);
    assert.match(mountZh.stdout, /^用法: rclone-devbox mount <remote:path> <dir> \[--cache-mode writes\|full\]/);
    assert.match(mountZh.stdout, /\n {2}挂载，并在就绪后返回$/);
    const mountEn = await cli(['mount', '--help'], { ...env, ...EN });
    assert.match(
      mountEn.stdout,
      /^Usage: rclone-devbox mount <remote:path> <dir> .*\n {2}mount and return once it is ready$/s,
    );
  });

  it('command-line mistakes', async () => {
    const frobZh = await cli(['frob'], { ...env, ...ZH });
    assert.equal(frobZh.code, 2);
    assert.equal(frobZh.stderr, `未知命令“frob”（可用命令：${COMMANDS}）。请运行 rclone-devbox --help。`);
    const frobEn = await cli(['frob'], { ...env, ...EN });
    assert.equal(frobEn.stderr, `unknown command "frob" (commands: ${COMMANDS}). Run rclone-devbox --help.`);

    const limitZh = await cli(['ls', 's3:models', '--limit', '0'], { ...env, ...ZH });
    assert.equal(limitZh.code, 2);
    assert.equal(
      limitZh.stderr,
      'ls：--limit“0”不是大于或等于 1 的整数。用法: rclone-devbox ls <remote:path> [--limit N]',
    );
    const limitEn = await cli(['ls', 's3:models', '--limit', '0'], { ...env, ...EN });
    assert.equal(
      limitEn.stderr,
      'ls: --limit "0" is not a whole number of 1 or more. Usage: rclone-devbox ls <remote:path> [--limit N]',
    );
  });

  it('a missing rclone and an unknown remote: the CLI’s own fix, in the user’s language', async () => {
    const missing = { ...env, RCLONE_DEVBOX_RCLONE: '/nonexistent/rclone' };
    const missingZh = await cli(['ls', 's3:models'], { ...missing, ...ZH });
    assert.equal(missingZh.code, 1);
    // Line 1 is core's message (its words are core's); line 2 is the CLI's fix.
    assert.equal(
      missingZh.stderr.split('\n')[1],
      '请将 RCLONE_DEVBOX_RCLONE 指向 rclone 可执行文件（绝对路径），或取消设置它以使用 PATH 中的 rclone。',
    );
    const missingEn = await cli(['ls', 's3:models'], { ...missing, ...EN });
    assert.match(
      missingEn.stderr,
      /^The configured rclone path "\/nonexistent\/rclone" is not an executable file\.\nPoint RCLONE_DEVBOX_RCLONE at the rclone binary \(an absolute path\), or unset it to use rclone from PATH\.$/,
    );

    const noRemoteZh = await cli(['ls', 'nosuch:models'], { ...env, ...ZH });
    assert.equal(noRemoteZh.code, 1);
    assert.equal(
      noRemoteZh.stderr.split('\n')[1],
      '请用 `rclone config` 添加它，或检查读取的是哪个配置文件：`rclone config file`（会遵循 RCLONE_CONFIG）。',
    );
    const noRemoteEn = await cli(['ls', 'nosuch:models'], { ...env, ...EN });
    assert.match(
      noRemoteEn.stderr,
      /^There is no remote called "nosuch" in the rclone config\.\nAdd it with `rclone config`, or check which config file is read/,
    );
    for (const r of [missingZh, noRemoteZh]) assert.doesNotMatch(r.stderr, EDITOR_WORDS);
  });

  it('what scripts read is the same in both languages; what people read is not', async () => {
    const zh = await cli(['remotes'], { ...env, ...ZH });
    const en = await cli(['remotes'], { ...env, ...EN });
    assert.equal(zh.code, 0);
    assert.equal(zh.stdout, `s3\ts3\tOther\t${box.s3.endpoint}\tfile`);
    assert.equal(zh.stdout, en.stdout);
    const empty = join(work.path, 'empty.conf');
    writeFileSync(empty, '', { mode: 0o600 });
    const none = await cli(['remotes'], { ...env, ...ZH, RCLONE_CONFIG: empty });
    assert.equal(
      none.stderr.trim(),
      `${empty} 中没有远程存储，RCLONE_CONFIG_<NAME>_TYPE 变量中也没有。请用 \`rclone config\` 添加一个。`,
    );
  });
});

describe('a core fix in Chinese is recognised by its English (the bundle read back)', () => {
  const bundle = join(ROOT, 'l10n/bundle.l10n.zh-cn.json');
  before(() => {
    l10n.config({ fsPath: bundle });
    readsBundle(bundle);
  });
  after(() => {
    l10n.config({ contents: {} });
    readsBundle(undefined);
  });

  it('a call site’s editor advice (matched on its English) becomes the CLI’s, in Chinese', () => {
    const english = 'Repair only cleans dead mounts. Use Unmount (it waits for uploads) or Remount.';
    const fix = l10n.t('Repair only cleans dead mounts. Use Unmount (it waits for uploads) or Remount.');
    assert.notEqual(fix, english, "core's fix has its Chinese in the bundle");
    assert.equal(englishOf(fix), english);
    assert.equal(
      cliFix({ kind: 'AlreadyMounted', fix }, { dir: '/mnt/m' }),
      '修复只清理失效的挂载；`rclone-devbox unmount /mnt/m` 可卸载正常的挂载（它会等待上传完成）。',
    );
    // With placeholders: their values are read back out of the Chinese and put into the CLI's fix.
    const link = '/w/cache_hub';
    const moveFix = l10n.t(
      'Move it away yourself (e.g. mv "{0}" "{1}.old"), or switch again letting Rclone Dev Box move it aside to {2}.backup-<date>-<time> (nothing is deleted).',
      link,
      link,
      link,
    );
    assert.equal(
      cliFix({ kind: 'LinkInTheWay', fix: moveFix }, { command: 'link' }),
      '请自行将它移走（例如 mv "/w/cache_hub" "/w/cache_hub.old"），或加上 --move-aside 重新运行，将它移到一个有名称的备份（/w/cache_hub.backup-<date>-<time>；不会删除任何内容）。',
    );
  });

  it("core's default fix (compared with core's translated FIXES) and a profile field named as a flag", () => {
    assert.equal(
      cliFix(new RcloneError('Stale', 'x'), { dir: '/mnt/m' }),
      '请用 `rclone-devbox repair /mnt/m` 清理它，然后重新挂载。',
    );
    const message = l10n.t('The mount profile\'s cacheMaxSize "{0}" is not a size with a unit.', '20');
    assert.match(cliMessage(message), /^--cache-max-size "20" /);
    assert.doesNotMatch(cliMessage(message), /挂载配置/);
  });
});
