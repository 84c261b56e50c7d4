import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError, ValidationError } from '@tenantlab/shared';
import { operatorRefusal } from './operator-refusal';

describe('operatorRefusal', () => {
  it("keeps the operator's code, message and details, and says what the VM was doing", () => {
    const denied = operatorRefusal('connect to vm-b1/db', {
      status: 403,
      body: { error: { code: 'POLICY_DENIED', message: 'no rule allows it', retriable: false } },
    });
    assert.ok(denied instanceof DomainError);
    assert.deepEqual([denied.code, denied.retriable], ['POLICY_DENIED', false]);
    assert.equal(denied.message, 'operator refused to connect to vm-b1/db: no rule allows it');
    const invalid = operatorRefusal('PUT /program', {
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'bad', details: ['tables[0].size: too big', 7] } },
    });
    assert.ok(invalid instanceof ValidationError);
    assert.deepEqual(invalid.details, ['tables[0].size: too big'], 'only string details pass');
  });

  it('names the failure by status when the body is not an error reply', () => {
    const down = operatorRefusal('listen on echo', { status: 502, body: 'Bad Gateway' });
    assert.deepEqual([down.code, down.retriable], ['DEPENDENCY_UNAVAILABLE', true]);
    assert.match(down.message, /HTTP 502/);
    const refused = operatorRefusal('close circuit c-1', { status: 409, body: undefined });
    assert.deepEqual([refused.code, refused.retriable], ['OPERATOR_REFUSED', false]);
  });
});
