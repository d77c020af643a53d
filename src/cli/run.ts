import Table from 'cli-table3';
import { Listr, type ListrTaskWrapper } from 'listr2';
import pc from 'picocolors';
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import {
  DOCUMENT_LIMITS,
  DataProcessorError,
  validateId,
  videoDocumentSchema,
  type VideoDocument,
} from '../contracts/index.js';
import { isS3Uri } from '../storage/index.js';
import type { RunEvent, RunRequest } from '../orchestrator/index.js';
import { loadModels, loadOrchestrator } from './lazy.js';
import { formatMs, reportError } from './output.js';
import { checkReadableInput, prepareOutputDirectory } from './paths.js';

interface RunCliOptions {
  platformId?: string;
  videoId?: string;
  runId?: string;
  out: string;
  profile: string;
  json?: boolean;
  resume?: boolean;
  cache: boolean;
  db?: string;
  storeRawPayload?: boolean;
  components?: string;
  device?: string;
  set: string[];
  document?: string;
  tritonUrl?: string;
  tritonDevice: string;
}

type AnyTask = ListrTaskWrapper<unknown, never, never>;

/**
 * A live per-stage task list (listr2) driven by the orchestrator's events: the display is derived
 * from events, never the other way round.
 */
class ProgressView {
  private readonly stages = new Map<
    string,
    {
      task?: AnyTask;
      resolve?: () => void;
      reject?: (e: Error) => void;
      startedAt?: number;
      finished?: boolean;
    }
  >();
  private listr: Promise<unknown> | null = null;

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run_started': {
        for (const name of event.stages) this.stages.set(name, {});
        const list = new Listr(
          event.stages.map((name) => ({
            title: `${name} ${pc.dim('waiting')}`,
            task: (_ctx: unknown, task: AnyTask) =>
              new Promise<void>((resolve, reject) => {
                const stage = this.stages.get(name);
                if (stage) Object.assign(stage, { task, resolve, reject });
              }),
          })),
          { concurrent: true, exitOnError: false },
        );
        this.listr = list.run().catch(() => undefined);
        break;
      }
      case 'stage_started': {
        const stage = this.stages.get(event.stage);
        if (stage) {
          stage.startedAt = performance.now();
          if (stage.task) stage.task.title = event.stage;
        }
        break;
      }
      case 'stage_progress': {
        const stage = this.stages.get(event.stage);
        if (!stage?.task || event.total <= 0) break;
        const fraction = Math.min(1, event.done / event.total);
        const elapsed = (performance.now() - (stage.startedAt ?? performance.now())) / 1000;
        const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : Number.NaN;
        const width = 20;
        const bar = '█'.repeat(Math.round(fraction * width)).padEnd(width, '░');
        stage.task.output = `${bar} ${event.done}/${event.total}${Number.isFinite(eta) ? ` ETA ${eta.toFixed(1)} s` : ''}`;
        break;
      }
      case 'stage_finished': {
        const stage = this.stages.get(event.stage);
        if (!stage) break;
        stage.finished = true;
        if (stage.task)
          stage.task.title = `${event.stage} ${pc.dim(`${event.status}${event.cache_hit ? ' (cache hit)' : ''} · ${formatMs(event.duration_ms)}`)}`;
        if (event.status === 'error')
          stage.reject?.(new Error(`${event.stage}: [${event.error_code}] ${event.error}`));
        else stage.resolve?.();
        break;
      }
      case 'run_finished':
        break;
    }
  }

  /** Ends the display: stages that never ran are shown as skipped. */
  async close(): Promise<void> {
    for (const stage of this.stages.values()) {
      if (stage.finished) continue;
      stage.task?.skip('skipped');
      stage.resolve?.();
    }
    await this.listr;
  }
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Run the pipeline on one video and write its artifacts to the result store.')
    .argument('<video>', 'path of the input video')
    .option('--platform-id <id>', 'platform id (default: local)')
    .option('--video-id <id>', 'video id (default: derived from the file content hash)')
    .option('--run-id <id>', 'run id (default: UTC timestamp + random suffix)')
    .option(
      '--out <dir|s3-uri>',
      'result store: a directory, or s3://bucket/prefix?endpoint=… (docs/STORAGE.md)',
      'result_store',
    )
    .option('--profile <name>', 'analysis profile', 'default')
    .option('--json', 'print machine-readable progress lines (JSON) instead of the live view')
    .option('--resume', 'continue the interrupted run given by --run-id; finished components are kept')
    .option('--no-cache', 'recompute every component instead of reusing valid cached artifacts')
    .option(
      '--store-raw-payload',
      "keep the raw-text handoffs (OCR strings, transcripts) in the run's _tmp_* after it ends (R-PRV-1)",
    )
    .option('--db <path>', 'profile database (default: $DATAPROCESSOR_DB or ~/.local/share/dataprocessor)')
    .option(
      '--components <names>',
      "run only these components (comma-separated) and what they depend on, instead of the profile's list",
    )
    .option(
      '--device <device>',
      "device for every model component: cpu, cuda:N or auto (default: the profile's)",
    )
    .option(
      '--set <section.key=value>',
      'override one config value, e.g. cut_detection.cut_floor=0.02 or segmenter.analysis_height=480 (repeatable; value parsed as JSON when it is JSON)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--document <file>',
      "the video's text as a VideoDocument JSON (title, description, tags, transcript, comments)",
    )
    .option('--triton-url <url>', 'Triton/KServe v2 server for models a profile maps to the triton runtime')
    .option(
      '--triton-device <device>',
      'the device the Triton server runs its models on (cpu or cuda:N)',
      'cpu',
    )
    .action(async (video: string, options: RunCliOptions) => {
      const view = options.json ? null : new ProgressView();
      try {
        await checkReadableInput(video);
        // R-ID-4: ids first, so a bad one never creates the output directory.
        for (const [flag, id] of [
          ['--platform-id', options.platformId],
          ['--video-id', options.videoId],
          ['--run-id', options.runId],
        ] as const)
          if (id !== undefined) validateId(flag, id);
        if (!isS3Uri(options.out)) await prepareOutputDirectory(options.out, '--out');
        const [{ runVideo }, { tritonRuntime }] = await Promise.all([loadOrchestrator(), loadModels()]);
        const outcome = await runVideo(
          {
            videoPath: video,
            storeRoot: options.out,
            profile: options.profile,
            useCache: options.cache,
            ...(options.storeRawPayload ? { storeRawPayload: true } : {}),
            ...(options.db !== undefined ? { databasePath: options.db } : {}),
            ...(options.resume ? { resume: true } : {}),
            ...(options.platformId !== undefined ? { platformId: options.platformId } : {}),
            ...(options.videoId !== undefined ? { videoId: options.videoId } : {}),
            ...(options.runId !== undefined ? { runId: options.runId } : {}),
            ...(options.components !== undefined ? { components: parseList(options.components) } : {}),
            ...(options.device !== undefined ? { device: options.device } : {}),
            ...(options.set.length > 0 ? { config: parseSets(options.set) } : {}),
            ...(options.document !== undefined ? { document: await readDocument(options.document) } : {}),
          },
          {
            ...(options.tritonUrl !== undefined
              ? {
                  runtimes: {
                    triton: tritonRuntime({
                      url: options.tritonUrl,
                      device: parseTritonDevice(options.tritonDevice),
                    }),
                  },
                }
              : {}),
            onEvent: (event) => {
              if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
              else view?.onEvent(event);
            },
          },
        );
        await view?.close();
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ type: 'result', run_dir: outcome.runDir, status: outcome.status })}\n`,
          );
        } else {
          const table = new Table({
            head: ['component', 'status', 'time', 'artifacts', 'notes'],
            style: process.stdout.isTTY ? { head: ['cyan'] } : { head: [], border: [] },
          });
          for (const c of outcome.manifest.components) {
            const status =
              c.status === 'ok'
                ? pc.green(c.status)
                : c.status === 'error'
                  ? pc.red(c.status)
                  : pc.yellow(c.status);
            const notes =
              c.status === 'error' ? `[${c.error_code}] ${c.error}` : (c.empty_reason ?? c.notes ?? '');
            table.push([
              c.name,
              c.cache_hit ? `${status} (cache)` : status,
              formatMs(c.duration_ms),
              String(c.artifacts.length),
              notes.slice(0, 70),
            ]);
          }
          process.stdout.write(`${table.toString()}\n`);
          process.stdout.write(
            `run ${outcome.status === 'ok' ? pc.green('ok') : pc.red('failed')}: ${outcome.runDir}\n`,
          );
        }
        process.exitCode = outcome.status === 'ok' ? 0 : 1;
      } catch (error) {
        await view?.close();
        process.exitCode = reportError(error, options.json === true);
      }
    });
}

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** `--set section.key=value` pairs into the request's config overrides (validated at compile). */
export function parseSets(pairs: readonly string[]): NonNullable<RunRequest['config']> {
  const config: { segmenter: Record<string, unknown>; components: Record<string, Record<string, unknown>> } =
    {
      segmenter: {},
      components: {},
    };
  for (const pair of pairs) {
    const match = /^([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)=(.*)$/s.exec(pair);
    if (!match)
      throw new DataProcessorError(
        'INPUT_INVALID',
        `--set "${pair}" is not section.key=value (e.g. cut_detection.cut_floor=0.02).`,
      );
    const [, section = '', key = '', raw = ''] = match;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: the value is the string itself (e.g. a model name).
    }
    if (section === 'segmenter') config.segmenter[key] = value;
    else (config.components[section] ??= {})[key] = value;
  }
  return config;
}

/** Reads and validates `--document FILE` (size-capped before it is read). */
async function readDocument(path: string): Promise<VideoDocument> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > DOCUMENT_LIMITS.fileBytes)
      throw new Error(`${info.size} bytes, more than the ${DOCUMENT_LIMITS.fileBytes} allowed`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataProcessorError(
      'INPUT_INVALID',
      `--document ${path} cannot be read: ${(error as Error).message}.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DataProcessorError('INPUT_INVALID', `--document ${path} is not valid JSON.`);
  }
  const parsed = videoDocumentSchema.safeParse(json);
  if (!parsed.success) {
    // Paths and rules only: never the document's text (R-PRV-1).
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`).join('; ');
    throw new DataProcessorError('INPUT_INVALID', `--document ${path} is not a VideoDocument: ${what}.`);
  }
  return parsed.data;
}

function parseTritonDevice(value: string): 'cpu' | `cuda:${number}` {
  if (value === 'cpu' || /^cuda:\d+$/.test(value)) return value as 'cpu' | `cuda:${number}`;
  throw new DataProcessorError('INPUT_INVALID', `--triton-device must be cpu or cuda:N, not "${value}".`);
}
