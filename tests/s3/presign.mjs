// Prints the presigned URL the AWS SDK (@aws-sdk/s3-request-presigner) makes for one object, so
// the C++ signer can be compared with it (tests/unit/storage/sigv4_sdk_test.cpp).
// Usage: node presign.mjs METHOD ENDPOINT REGION BUCKET KEY UNIX_SECONDS EXPIRES PATH_STYLE
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const [method, endpoint, region, bucket, key, seconds, expires, pathStyle] = process.argv.slice(2);
const client = new S3Client({
  region,
  endpoint,
  forcePathStyle: pathStyle === 'true',
  credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
});
const Command = method === 'PUT' ? PutObjectCommand : GetObjectCommand;
const url = await getSignedUrl(client, new Command({ Bucket: bucket, Key: key }), {
  expiresIn: Number(expires),
  signingDate: new Date(Number(seconds) * 1000),
});
process.stdout.write(url + '\n');
