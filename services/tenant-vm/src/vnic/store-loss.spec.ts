import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newReceiverCounters } from './port-receiver';
import { newSenderCounters } from './port-sender';
import { StoreLoss } from './store-loss';

describe('StoreLoss', () => {
  it("counts what the switch did not read of the old credentials' frames, and what it gave that was not read", () => {
    const sent = newSenderCounters();
    const received = newReceiverCounters();
    const loss = new StoreLoss(sent, received);
    loss.credentialsChanged();
    sent.framesSent = 100;
    received.framesReceived = 40;
    loss.credentialsChanged(); // registered again: a new sender
    sent.framesSent = 110; // the new sender's frames are in the new store
    loss.settle({ generation: 1, consumed: 90, unsettled: 3, delivered: 50, inDoubt: 0 }, true);
    assert.deepEqual(loss.report(), { ledgers: 1, tx: 10, rx: 10, unknownOutcome: { tx: 0, atSwitch: 3, rx: 0 } });
  });

  it('takes writes without a reply that the switch read after all out of the unknown ones', () => {
    const sent = newSenderCounters();
    const received = newReceiverCounters();
    const loss = new StoreLoss(sent, received);
    sent.framesSent = 100;
    sent.unknownOutcome = 16;
    received.framesReceived = 55;
    // No send since the new registration: the sender in use is still the old one.
    loss.settle({ generation: 1, consumed: 104, unsettled: 0, delivered: 50, inDoubt: 8 }, false);
    assert.deepEqual(loss.report(), { ledgers: 1, tx: 0, rx: 0, unknownOutcome: { tx: 12, atSwitch: 0, rx: 3 } });
  });

  it('settles each generation once: the next ledger counts only what came after', () => {
    const sent = newSenderCounters();
    const received = newReceiverCounters();
    const loss = new StoreLoss(sent, received);
    sent.framesSent = 10;
    loss.settle({ generation: 1, consumed: 10, unsettled: 0, delivered: 0, inDoubt: 0 }, false);
    sent.framesSent = 30;
    received.framesReceived = 5;
    loss.settle({ generation: 2, consumed: 15, unsettled: 0, delivered: 7, inDoubt: 0 }, false);
    assert.deepEqual(loss.report(), { ledgers: 2, tx: 5, rx: 2, unknownOutcome: { tx: 0, atSwitch: 0, rx: 0 } });
  });
});
