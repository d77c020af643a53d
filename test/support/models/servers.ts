// Loopback servers for the model-system tests: a static mirror (models install --from URL) and a
// KServe v2 / Triton inference server that runs a real ONNX Runtime session behind the protocol.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import * as ort from 'onnxruntime-node';

export interface RunningServer {
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<RunningServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method ?? 'GET'} ${req.url ?? ''}`);
    handler(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Serves the files under `root` (GET only); `mutate(path, bytes)` may corrupt a response. */
export function startStaticMirror(
  root: string,
  mutate?: (path: string, bytes: Buffer) => Buffer,
): Promise<RunningServer> {
  return listen(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^\/+/,
      '',
    );
    if (path.startsWith('..')) {
      res.writeHead(403).end();
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(join(root, path));
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const body = mutate ? mutate(path, bytes) : bytes;
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      .end(body);
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

/**
 * A minimal KServe v2 HTTP server: `/v2/health/ready`, `/v2/models/<m>/versions/<v>/ready` and
 * `/infer` with JSON FP32 tensors, answering from a real ORT session of `onnxPath`. `failInfer`
 * lets a test make it answer an error (e.g. an out-of-memory message) for a request.
 */
export async function startV2Server(options: {
  model: string;
  version: string;
  onnxPath: string;
  ready?: boolean;
  failInfer?: (inputs: V2Tensor[]) => string | null;
}): Promise<RunningServer> {
  const session = await ort.InferenceSession.create(options.onnxPath);
  const base = `/v2/models/${options.model}/versions/${options.version}`;
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = await listen(async (req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/v2/health/ready')
      return json(res, options.ready === false ? 503 : 200, {});
    if (req.method === 'GET' && url === `${base}/ready`) return json(res, 200, {});
    if (req.method === 'POST' && url === `${base}/infer`) {
      const body = (await readJson(req)) as { inputs: V2Tensor[]; outputs?: { name: string }[] };
      const failure = options.failInfer?.(body.inputs) ?? null;
      if (failure !== null) return json(res, 500, { error: failure });
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of body.inputs) {
        if (t.datatype !== 'FP32') return json(res, 400, { error: `unsupported datatype ${t.datatype}` });
        feeds[t.name] = new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
      }
      const out = await session.run(feeds);
      return json(res, 200, {
        model_name: options.model,
        model_version: options.version,
        outputs: Object.entries(out).map(([name, t]) => ({
          name,
          datatype: 'FP32',
          shape: t.dims,
          data: Array.from(t.data as Float32Array),
        })),
      });
    }
    return json(res, 404, { error: `no route ${req.method ?? ''} ${url}` });
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await session.release();
    },
  };
}
