// The heavy modules of the CLI (the pipeline with its model runtimes, the service, the auditor),
// loaded by the command that needs them: `--help`, `gc`, `delete` and usage errors start without
// loading ONNX Runtime, TFJS, Fastify or BullMQ (≈ 0.5 s of CPU a start instead of ≈ 2 s).
import type * as Audit from '../audit/index.js';
import type * as Models from '../models/index.js';
import type * as Orchestrator from '../orchestrator/index.js';
import type * as Service from '../service/index.js';

export const loadOrchestrator = (): Promise<typeof Orchestrator> => import('../orchestrator/index.js');
export const loadModels = (): Promise<typeof Models> => import('../models/index.js');
export const loadService = (): Promise<typeof Service> => import('../service/index.js');
export const loadAudit = (): Promise<typeof Audit> => import('../audit/index.js');
