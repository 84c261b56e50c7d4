import { createHash, randomBytes } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { DomainError, matchCaller } from '@tenantlab/shared';
import type { Request, Response } from 'express';
import { DASHBOARD_CONFIG, type DashboardConfig } from './dashboard.config';

/** The session cookie: HttpOnly (page scripts never see it), SameSite=Strict, sent only to /dashboard. */
export const SESSION_COOKIE = 'tenantlab_dashboard';
const SESSION_TTL_MS = 12 * 3600_000;
/** Sessions kept at once; the oldest goes first. A lab has one or two people looking. */
const SESSIONS_MAX = 64;

/**
 * Who may see the dashboard: it shows every tenant's data, so it is an admin view. A person logs in with the lab's
 * dashboard token (DASHBOARD_TOKEN) and gets a random session id in an HttpOnly cookie; scripts may instead send the
 * token itself as `Authorization: Bearer`. Session ids are kept as sha256 digests only, in memory: a restart of
 * telemetry logs everyone out.
 */
@Injectable()
export class DashboardSessions {
  private readonly sessions = new Map<string, number>();

  constructor(@Inject(DASHBOARD_CONFIG) private readonly config: Pick<DashboardConfig, 'DASHBOARD_TOKEN'>) {}

  get enabled(): boolean {
    return this.config.DASHBOARD_TOKEN !== undefined;
  }

  /** A new session's id for the right token; 403 for any other (the same answer whatever was wrong). */
  login(presented: string): { id: string; maxAgeSeconds: number } {
    if (!this.tokenMatches(presented)) {
      throw new DomainError('FORBIDDEN', this.enabled ? 'that is not the dashboard token' : DISABLED);
    }
    const id = randomBytes(32).toString('hex');
    const now = Date.now();
    for (const [digest, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(digest);
    while (this.sessions.size >= SESSIONS_MAX) this.sessions.delete(this.sessions.keys().next().value as string);
    this.sessions.set(sha256(id), now + SESSION_TTL_MS);
    return { id, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  logout(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(sha256(id));
  }

  /**
   * Whether a request may read the dashboard's data: 401 when it carries neither a session cookie nor a bearer
   * token, 403 when what it carries is not a live session or the dashboard token.
   */
  authorize(request: Request): void {
    const session = sessionIdOf(request);
    const bearer = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (session === undefined && bearer === undefined) {
      throw new DomainError(
        'UNAUTHENTICATED',
        'the dashboard is an admin view: log in at /dashboard with the lab dashboard token, or send ' +
          'Authorization: Bearer <dashboard token>',
      );
    }
    if (session !== undefined && (this.sessions.get(sha256(session)) ?? 0) > Date.now()) return;
    if (bearer !== undefined && this.tokenMatches(bearer)) return;
    throw new DomainError(
      'FORBIDDEN',
      this.enabled ? 'the session has expired or the token is not the dashboard token: log in again' : DISABLED,
    );
  }

  private tokenMatches(presented: string): boolean {
    const token = this.config.DASHBOARD_TOKEN;
    return token !== undefined && matchCaller([{ caller: 'dashboard', token }], presented) !== undefined;
  }
}

const DISABLED = 'the dashboard is off: telemetry was started without DASHBOARD_TOKEN';

/** Guards the dashboard's data routes (DashboardSessions.authorize). */
@Injectable()
export class DashboardAuthGuard implements CanActivate {
  constructor(private readonly sessions: DashboardSessions) {}

  canActivate(context: ExecutionContext): boolean {
    this.sessions.authorize(context.switchToHttp().getRequest<Request>());
    return true;
  }
}

export function sessionIdOf(request: Request): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return /^[0-9a-f]{64}$/.test(value.join('=')) ? value.join('=') : '';
  }
  return undefined;
}

export function setSessionCookie(response: Response, id: string, maxAgeSeconds: number): void {
  response.setHeader(
    'set-cookie',
    `${SESSION_COOKIE}=${id}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`,
  );
}

export function clearSessionCookie(response: Response): void {
  response.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0`);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
