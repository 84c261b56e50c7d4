import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { DomainError } from '@tenantlab/shared';
import { TrustedCallers } from '../auth/trusted-callers';
import { sha256Hex } from '../auth/vm-secrets';
import { PartyAdmission } from './party-admission';
import { SecretTenants } from './secret-tenants';
import { TenantTurnsGuard } from './tenant-turns.guard';
import { TokenTenants } from './token-tenants';

const ADMIN = 'admin-token-0123456789';
const SERVICE = 'telemetry-token-0123456789';

/** A call with this bearer token (or none) from `address`, and its response, which emits 'close' when told. */
function call(
  token: string | undefined,
  address = '10.0.0.7',
  tenantSecret?: string,
): { context: ExecutionContext; response: EventEmitter } {
  const response = new EventEmitter();
  const request = {
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(tenantSecret === undefined ? {} : { 'x-tenant-secret': tenantSecret }),
    },
    socket: { remoteAddress: address },
  };
  const context = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ExecutionContext;
  return { context, response };
}

function setUp(inFlight = 1): {
  guard: TenantTurnsGuard;
  admission: PartyAdmission;
  tokens: TokenTenants;
  secrets: SecretTenants;
} {
  const admission = new PartyAdmission({ inFlight, waiting: 8 });
  const tokens = new TokenTenants();
  const secrets = new SecretTenants();
  const trusted = new TrustedCallers({
    OPERATOR_ADMIN_TOKEN: ADMIN,
    CALLER_TOKENS: [{ caller: 'telemetry', token: SERVICE }],
  });
  return { guard: new TenantTurnsGuard(admission, tokens, secrets, trusted), admission, tokens, secrets };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TenantTurnsGuard', () => {
  it("puts a known VM token's call in its tenant's turn, any other call in its address's", async () => {
    const { guard, admission, tokens } = setUp(8);
    tokens.remember(sha256Hex('vm-token-a'), 'tenant-a');
    const known = call('vm-token-a');
    const unknown = call('made-up-token');
    const anonymous = call(undefined, '10.0.0.9');
    for (const { context } of [known, unknown, anonymous]) assert.equal(await guard.canActivate(context), true);
    assert.deepEqual(admission.snapshot(), {
      'tenant tenant-a': { running: 1, waiting: 0 },
      'address 10.0.0.7': { running: 1, waiting: 0 },
      'address 10.0.0.9': { running: 1, waiting: 0 },
    });
    for (const { response } of [known, unknown, anonymous]) response.emit('close');
    assert.deepEqual(admission.snapshot(), {}, 'each place given back when its response closed');
  });

  it("puts a registration with a declared tenant's secret in that tenant's turn, a made-up secret in its address's", async () => {
    const { guard, admission, tokens, secrets } = setUp(8);
    secrets.set('tenant-b', sha256Hex('secret-b'));
    tokens.remember(sha256Hex('vm-token-a'), 'tenant-a');
    const enrolling = call(undefined, '127.0.0.1', 'secret-b');
    const guessing = call(undefined, '127.0.0.1', 'not-the-secret');
    const tokenFirst = call('vm-token-a', '127.0.0.1', 'secret-b');
    for (const { context } of [enrolling, guessing, tokenFirst]) assert.equal(await guard.canActivate(context), true);
    assert.deepEqual(admission.snapshot(), {
      'tenant tenant-b': { running: 1, waiting: 0 },
      'address 127.0.0.1': { running: 1, waiting: 0 },
      'tenant tenant-a': { running: 1, waiting: 0 },
    });
    for (const { response } of [enrolling, guessing, tokenFirst]) response.emit('close');
  });

  it('never holds the admin token or a service token, whatever waits', async () => {
    const { guard, admission } = setUp(1);
    const busy = call(undefined);
    await guard.canActivate(busy.context);
    for (const token of [ADMIN, SERVICE]) assert.equal(await guard.canActivate(call(token).context), true);
    assert.deepEqual(admission.snapshot(), { 'address 10.0.0.7': { running: 1, waiting: 0 } });
    busy.response.emit('close');
  });

  it('holds a call until its turn, and gives back at once the place of a caller that left while it waited', async () => {
    const { guard, admission, tokens } = setUp(1);
    tokens.remember(sha256Hex('vm-token-a'), 'tenant-a');
    const first = call('vm-token-a');
    const gone = call('vm-token-a');
    const third = call('vm-token-a');
    await guard.canActivate(first.context);
    const goneOutcome = guard.canActivate(gone.context).then(
      () => 'admitted',
      (error: unknown) => (error instanceof DomainError ? error.code : String(error)),
    );
    let thirdAdmitted = false;
    void guard.canActivate(third.context).then(() => (thirdAdmitted = true));
    await settle();
    assert.deepEqual(admission.snapshot(), { 'tenant tenant-a': { running: 1, waiting: 2 } });
    gone.response.emit('close');
    first.response.emit('close');
    assert.equal(await goneOutcome, 'CALLER_GONE');
    await settle();
    assert.equal(thirdAdmitted, true, 'the place the gone caller got passed on');
    third.response.emit('close');
    assert.deepEqual(admission.snapshot(), {});
  });
});
