// Structured logs (R-SVC-4) with pino: one JSON object per line, run ids and codes as fields.
// Never raw text (R-SEC-5): request bodies are not logged, keys and documents are redacted should
// any code path ever pass them.
import { pino, type DestinationStream, type Logger } from 'pino';

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'dataprocessor',
      level: options.level ?? 'info',
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'document',
          '*.document',
          'callback_url',
          '*.callback_url',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
