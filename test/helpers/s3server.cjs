// Runs s3rver (a real S3 protocol server) on 127.0.0.1 with a random port, in its own process.
// Usage: node s3server.cjs <dataDir> [bucket ...]; prints {"port":N} on stdout once listening.
// The default s3rver credentials are S3RVER / S3RVER; signatures are checked.
const S3rver = require('s3rver');

const [dir, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: dir,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\n'),
  (err) => {
    process.stderr.write(String(err && err.stack) + '\n');
    process.exit(1);
  },
);
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
