// s3rver alone (no verifying proxy), for scripts/cluster.sh: one bucket, objects kept in
// DIRECTORY, its writes one at a time (serialize_writes.mjs: s3rver's own CLI would end on the
// first DELETE that races a PUT in the same folder).
// Usage: node --openssl-legacy-provider standalone.mjs DIRECTORY PORT BUCKET
import S3rver from 's3rver';
import { serializeWrites } from './serialize_writes.mjs';

const [directory, port, bucket] = process.argv.slice(2);
const s3rver = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory,
  configureBuckets: [{ name: bucket }] });
serializeWrites(s3rver.store);
await s3rver.run();
process.on('SIGTERM', () => process.exit(0));
