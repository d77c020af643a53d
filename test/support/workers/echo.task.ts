// A worker for test/worker-pool.test.ts: echoes, sums a moved buffer, fails with a coded error.
import { DataProcessorError } from '../../../src/contracts/index.js';
import { serveRequests } from '../../../src/workers/index.js';

serveRequests({
  echo: (payload) => ({ result: payload }),
  sum: (payload) => {
    const data = payload as Float32Array;
    return { result: data.reduce((a, b) => a + b, 0) };
  },
  slow: async (payload) => {
    await new Promise((r) => setTimeout(r, payload as number));
    return { result: payload };
  },
  fail: () => {
    throw new DataProcessorError('OOM', 'pretend allocation failure', { details: { batch_size: 3 } });
  },
});
