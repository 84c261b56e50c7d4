import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '@tenantlab/shared';
import type { Request } from 'express';
import { DashboardSessions, SESSION_COOKIE } from './dashboard-auth';

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
