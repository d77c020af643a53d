// The thumbnail strip of the shots' first frames, cut from the Segmenter's frame batches
// (frames_dir/batch_*.npy, RGB uint8 [n, H, W, 3]) read through the artifact API. The API serves
// whole files only, so a batch is fetched once for all the shots in it, and the strip is skipped
// when the batches it needs are too large to fetch for a preview.
import { decodeNpy, type Manifest, type NpzFile } from '../../contracts/index.js';
import { api } from './api.js';
import { h } from './dom.js';
import { formatBytes } from './format.js';
import { numbers } from './signals.js';

/** Most bytes of frame batches fetched for one strip. */
export const MAX_THUMBNAIL_BYTES = 256 * 1024 * 1024;

interface FramesMetadata {
  height: number;
  width: number;
  channels: number;
  union_frame_indices_source: number[];
  batches: { file: string; first_union_index: number; last_union_index: number; count: number }[];
}

export async function shotThumbnails(
  figure: HTMLElement,
  runId: string,
  manifest: Manifest,
  cuts: NpzFile,
  signal: AbortSignal,
): Promise<void> {
  const strip = h('ol', {
    class: 'thumbnails',
    id: 'shot-thumbnails',
    'aria-label': 'First frame of each shot',
  });
  const note = h('p', { class: 'muted' });
  figure.append(h('h4', {}, 'Shots'), strip, note);
  const segmenter = manifest.components.find((c) => c.name === 'segmenter');
  const metadataRef = segmenter?.artifacts.find((a) => a.path === 'frames_dir/metadata.json');
  if (!segmenter || !metadataRef) {
    note.textContent = 'No frames to show: the run has no frames_dir.';
    return;
  }
  const metadata = JSON.parse(
    new TextDecoder().decode(await api.artifact(runId, metadataRef.path)),
  ) as FramesMetadata;
  const starts = Array.from(numbers(cuts, 'source_shot_start_frame_indices'));
  const startTimes = numbers(cuts, 'shot_start_times_sec');
  const unionOf = new Map(metadata.union_frame_indices_source.map((source, union) => [source, union]));
  const wanted = starts.map((source) => {
    const union = unionOf.get(source) ?? -1;
    const batch = metadata.batches.find((b) => union >= b.first_union_index && union <= b.last_union_index);
    return { source, union, batch };
  });
  const files = [...new Set(wanted.flatMap((w) => (w.batch ? [w.batch.file] : [])))];
  const bytesOf = (file: string): number =>
    segmenter.artifacts.find((a) => a.path === `frames_dir/${file}`)?.bytes ?? 0;
  const needed = files.reduce((total, file) => total + bytesOf(file), 0);
  if (needed > MAX_THUMBNAIL_BYTES) {
    note.textContent = `Thumbnails skipped: they would need ${formatBytes(needed)} of frame batches.`;
    return;
  }
  const frameBytes = metadata.height * metadata.width * metadata.channels;
  const batches = new Map<string, Uint8Array>();
  for (const file of files) {
    const array = decodeNpy(await api.artifact(runId, `frames_dir/${file}`));
    if (signal.aborted) return;
    if (array.dtype !== 'uint8') throw new Error(`${file} is not uint8`);
    batches.set(file, array.data);
  }
  wanted.forEach(({ source, union, batch }, shot) => {
    const data = batch ? batches.get(batch.file) : undefined;
    const label = `Shot ${shot + 1} at ${(startTimes[shot] ?? 0).toFixed(2)} s (frame ${source})`;
    if (!batch || !data) {
      strip.append(h('li', { class: 'thumbnail missing' }, `${label}: frame not in frames_dir`));
      return;
    }
    const canvas = h('canvas', {
      width: metadata.width,
      height: metadata.height,
      role: 'img',
      'aria-label': label,
    });
    const ctx = canvas.getContext('2d');
    if (ctx) {
      const offset = (union - batch.first_union_index) * frameBytes;
      const image = ctx.createImageData(metadata.width, metadata.height);
      for (let p = 0, q = offset; p < metadata.width * metadata.height; p += 1, q += metadata.channels) {
        image.data[p * 4] = data[q] as number;
        image.data[p * 4 + 1] = data[q + 1] as number;
        image.data[p * 4 + 2] = data[q + 2] as number;
        image.data[p * 4 + 3] = 255;
      }
      ctx.putImageData(image, 0, 0);
    }
    strip.append(
      h(
        'li',
        { class: 'thumbnail', 'data-source-frame': source, title: label },
        canvas,
        h('span', {}, `${(startTimes[shot] ?? 0).toFixed(2)} s`),
      ),
    );
  });
  note.textContent = `${starts.length} shot${starts.length === 1 ? '' : 's'}`;
}
