// `npm run demo`: a local S3 server seeded like an IndexTTS2 bucket, an rclone config pointing at
// it, and the headless CLI listing it. Everything runs on 127.0.0.1 and is removed at the end.
// (The editor demo arrives with the VS Code surfaces.)
import { execa } from 'execa';
import { join } from 'node:path';
import { putObjects, ROOT, startBox } from './helpers/fixtures';

async function main(): Promise<void> {
  const box = await startBox(['index-tts-data']);
  try {
    await putObjects(box, 'index-tts-data', {
      'cache_hub_v23/.keep': '',
      'cache_hub_v23/gpt.pth': 'g'.repeat(4096),
      'cache_hub_v23/bigvgan_generator.pt': 'b'.repeat(2048),
      'cache_hub_v23/config.yaml': 'version: 2.3\n',
      'cache_hub_v24/.keep': '',
      'cache_hub_v24/gpt.pth': 'G'.repeat(4096),
    });
    const cli = (...args: string[]) =>
      execa(process.execPath, [join(ROOT, 'dist/cli.js'), ...args], {
        env: { ...process.env, RCLONE_CONFIG: box.configFile },
        stdout: 'inherit',
        stderr: 'inherit',
      });
    console.log(`S3 server on ${box.s3.endpoint}, rclone config at ${box.configFile}\n`);
    console.log('$ rclone-devbox remotes');
    await cli('remotes');
    console.log('\n$ rclone-devbox ls s3:index-tts-data');
    await cli('ls', 's3:index-tts-data');
    console.log('\n$ rclone-devbox ls s3:index-tts-data/cache_hub_v23');
    await cli('ls', 's3:index-tts-data/cache_hub_v23');
    console.log('\n$ rclone-devbox ls s3:no-such-bucket');
    await cli('ls', 's3:no-such-bucket').catch(() => undefined);
  } finally {
    await box.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
