import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';

/** The page's files, shipped beside dist/ in the package (`public/dashboard`, copied into the image as they are). */
export const DASHBOARD_FILES_DIR = join(__dirname, '..', '..', 'public', 'dashboard');

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

/** Headers on every file: the page loads only its own script and style and talks only to its own origin. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

/**
 * The dashboard's static files, read once at start: a fixed list of names (nothing from the request reaches the file
 * system), plain HTML, JavaScript and CSS with no build step.
 */
@Injectable()
export class DashboardStaticFiles {
  private readonly files = new Map<string, StaticFile>(
    Object.entries(TYPES).map(([name, type]) => [name, { body: readFileSync(join(DASHBOARD_FILES_DIR, name)), type }]),
  );

  get(name: string): StaticFile | undefined {
    return this.files.get(name);
  }
}
