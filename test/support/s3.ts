// A real S3-protocol server on loopback for the S3 store's tests: s3rver (npm, pure JS, no
// network or binaries to fetch), storing objects in a temp directory. Each test gets its bucket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  /** Creates a bucket and returns its store URI `s3://<bucket>/<prefix>?endpoint=…&mirror=…`. */
  storeUri(bucket: string, prefix?: string, extra?: string): Promise<string>;
  /** Every key in a bucket (optionally under a prefix). */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  close(): Promise<void>;
  /** Env for a child CLI: credentials s3rver accepts. */
  env: Record<string, string>;
}

export async function startS3(): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 'dp-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(dir, 'data') });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
  Object.assign(process.env, env);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const sdk = await import('@aws-sdk/client-s3');
  const client = new sdk.S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    env,
    async storeUri(bucket, prefix = 'store', extra = '') {
      await client.send(new sdk.CreateBucketCommand({ Bucket: bucket }));
      const mirror = join(dir, `mirror-${bucket}`);
      return `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&mirror=${encodeURIComponent(mirror)}${extra}`;
    },
    async keys(bucket, prefix = '') {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
