import type { Command } from 'commander';
import { validateId } from '../contracts/index.js';
import { cliActor, deleteVideo, openExistingResultStore } from '../storage/index.js';
import { formatBytes } from './gc.js';
import { reportError } from './output.js';

interface DeleteCliOptions {
  out: string;
  platformId: string;
  videoId: string;
  json?: boolean;
}

export function registerDeleteCommand(program: Command): void {
  program
    .command('delete')
    .description(
      'Delete everything stored for one video (R-PRV-3): runs, artifacts, frames, state, claims, cache entries; writes a tombstone (an in-flight run of it fails with VIDEO_DELETED) and a deletion-log record.',
    )
    .option(
      '--out <dir|s3-uri>',
      'result store: a directory, or s3://bucket/prefix?endpoint=…',
      'result_store',
    )
    .requiredOption('--platform-id <id>', 'platform id of the video')
    .requiredOption('--video-id <id>', 'video id')
    .option('--json', 'print the deletion record as JSON')
    .action(async (options: DeleteCliOptions) => {
      try {
        validateId('--platform-id', options.platformId);
        validateId('--video-id', options.videoId);
        const store = await openExistingResultStore(options.out);
        const record = await deleteVideo(store, {
          platformId: options.platformId,
          videoId: options.videoId,
          requestedBy: cliActor(),
        });
        if (options.json) process.stdout.write(`${JSON.stringify(record)}\n`);
        else
          process.stdout.write(
            `deleted ${record.platform_id}/${record.video_id}: ${record.runs.length} runs, ${record.files} files, ${formatBytes(record.bytes)} (deletion ${record.deletion_id})\n`,
          );
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
      }
    });
}
