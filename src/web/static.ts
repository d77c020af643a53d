import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export interface DashboardOptions {
  /** The built dashboard. @defaultValue dist/web/public of this checkout */
  root?: string;
}

/**
 * The built dashboard's directory: next to the compiled module (dist/web/public), or dist's when
 * the service runs from sources (tsx). Null when it has not been built.
 */
export function dashboardRoot(): string | null {
  const here = import.meta.dirname;
  for (const candidate of [join(here, 'public'), resolve(here, '..', '..', 'dist', 'web', 'public')])
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  return null;
}

/**
 * Page policy: scripts and connections to this origin only (the API), no framing; inline styles
 * are allowed because the charts position their elements with them.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Serves the dashboard at `/` (index.html, app.js, style.css). One route per built file, so no
 * wildcard competes with the API's routes. Without a build, `/` answers 503 saying how to build.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const root = options.root ?? dashboardRoot();
  if (root === null || !existsSync(join(root, 'index.html'))) {
    app.get('/', (_request, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build` (it writes dist/web/public).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: 'index.html',
    decorateReply: false,
    cacheControl: false,
    schemaHide: true,
    setHeaders: (reply) => {
      // ETag/Last-Modified revalidate; a new build is picked up at once.
      void reply.headers({
        'cache-control': 'no-cache',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    },
  });
}
