export { auditRun, RAW_TEXT_KEYS, type AuditReport, type RuleResult } from './audit.js';
export { auditStoredRun, openStoredRun } from './stored.js';
