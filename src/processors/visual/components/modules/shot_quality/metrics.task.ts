// Worker-thread side of shot_quality's pixel measures: each request is one batch of RGB frames
// (moved, not copied) and returns one FrameQuality per frame. Runs in a long-lived worker fed batch
// by batch (WorkerChannel), so the per-pixel loops never block the event loop.
import { isMainThread } from 'node:worker_threads';
import { serveRequests } from '../../../../../workers/index.js';
import { frameQuality, type ClipLevels, type FrameQuality } from './metrics.js';

/** One request: `count` frames of width×height RGB24 in `pixels`. */
export interface QualityRequest {
  pixels: Uint8Array;
  count: number;
  width: number;
  height: number;
  clip: ClipLevels;
}

/** The measures of every frame of a request, in order. */
export function measureBatch(request: QualityRequest): FrameQuality[] {
  const frameBytes = request.width * request.height * 3;
  return Array.from({ length: request.count }, (_, i) =>
    frameQuality(request.pixels, i * frameBytes, request.width, request.height, request.clip),
  );
}

// Only inside a worker thread: imported on the main thread (tests) it serves nothing.
if (!isMainThread)
  serveRequests({ measure: (payload) => ({ result: measureBatch(payload as QualityRequest) }) });
