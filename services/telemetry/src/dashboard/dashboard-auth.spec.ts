import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '@tenantlab/shared';
import type { Request, Response } from 'express';
import { clearSessionCookie, DashboardSessions, SESSION_COOKIE, setSessionCookie } from './dashboard-auth';

const TOKEN = 'd'.repeat(64);

function request(headers: Record<string, string>): Request {
  return { headers } as unknown as Request;
}

function refusal(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return error instanceof DomainError ? error.code : String(error);
  }
}

describe('DashboardSessions', () => {
  const sessions = new DashboardSessions({ DASHBOARD_TOKEN: TOKEN });

  it('logs in with the dashboard token only', () => {
    assert.equal(
      refusal(() => sessions.login('e'.repeat(64))),
      'FORBIDDEN',
    );
    assert.equal(
      refusal(() => sessions.login('')),
      'FORBIDDEN',
    );
    assert.match(sessions.login(TOKEN).id, /^[0-9a-f]{64}$/);
  });

  it('lets in a live session or the token as a bearer; 401 with neither, 403 with anything else', () => {
    const { id } = sessions.login(TOKEN);
    assert.equal(
      refusal(() => sessions.authorize(request({ cookie: `other=1; ${SESSION_COOKIE}=${id}` }))),
      undefined,
    );
    assert.equal(
      refusal(() => sessions.authorize(request({ authorization: `Bearer ${TOKEN}` }))),
      undefined,
    );
    assert.equal(
      refusal(() => sessions.authorize(request({}))),
      'UNAUTHENTICATED',
    );
    assert.equal(
      refusal(() => sessions.authorize(request({ cookie: 'other=1' }))),
      'UNAUTHENTICATED',
    );
    assert.equal(
      refusal(() => sessions.authorize(request({ cookie: `${SESSION_COOKIE}=${'0'.repeat(64)}` }))),
      'FORBIDDEN',
    );
    assert.equal(
      refusal(() => sessions.authorize(request({ cookie: `${SESSION_COOKIE}=junk` }))),
      'FORBIDDEN',
    );
    assert.equal(
      refusal(() => sessions.authorize(request({ authorization: `Bearer ${'e'.repeat(64)}` }))),
      'FORBIDDEN',
    );
  });

  it('forgets a session at logout', () => {
    const { id } = sessions.login(TOKEN);
    sessions.logout(id);
    assert.equal(
      refusal(() => sessions.authorize(request({ cookie: `${SESSION_COOKIE}=${id}` }))),
      'FORBIDDEN',
    );
  });

  it('refuses everyone when telemetry has no DASHBOARD_TOKEN', () => {
    const off = new DashboardSessions({ DASHBOARD_TOKEN: undefined });
    assert.equal(off.enabled, false);
    assert.equal(
      refusal(() => off.login(TOKEN)),
      'FORBIDDEN',
    );
    assert.equal(
      refusal(() => off.authorize(request({ authorization: `Bearer ${TOKEN}` }))),
      'FORBIDDEN',
    );
  });
});

describe('the dashboard session cookie', () => {
  /** The Set-Cookie header a response was given. */
  function setCookieOf(write: (response: Response) => void): string {
    const headers = new Map<string, string>();
    write({
      setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    } as unknown as Response);
    return headers.get('set-cookie') ?? '';
  }

  it('is HttpOnly and SameSite=Strict, sent only to /dashboard, at login and at logout', () => {
    const id = 'a'.repeat(64);
    const login = setCookieOf((response) => setSessionCookie(response, id, 3600)).split('; ');
    assert.equal(login[0], `${SESSION_COOKIE}=${id}`);
    assert.deepEqual(login.slice(1).sort(), ['HttpOnly', 'Max-Age=3600', 'Path=/dashboard', 'SameSite=Strict']);
    const logout = setCookieOf(clearSessionCookie).split('; ');
    assert.equal(logout[0], `${SESSION_COOKIE}=`);
    assert.deepEqual(logout.slice(1).sort(), ['HttpOnly', 'Max-Age=0', 'Path=/dashboard', 'SameSite=Strict']);
  });
});
