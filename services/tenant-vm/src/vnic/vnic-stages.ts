import { StageTimings } from '@tenantlab/shared';

/**
 * The vNIC's stages of a frame's time (issue 11), µs. Those marked (sum), with the switch's (tx.wait, switch.read,
 * switch.process), follow each other on the frame's way and add up to its end-to-end time:
 *   vm.encode (sum)  from the send being queued to its round trip being sent: waiting behind earlier sends, packing
 *   vm.write         that round trip (the XADDs' replies; overlaps the switch's tx.wait, which starts at the write)
 *   rx.wait (sum)    from the switch's stamp on the rx entry to the receiver's read of it, less that read's round trip
 *   vm.read (sum)    the part of the read's round trip after the stamp, and splitting the entries into frames
 */
export const VNIC_STAGES = ['vm.encode', 'vm.write', 'rx.wait', 'vm.read'] as const;
export type VnicStage = (typeof VNIC_STAGES)[number];

export function newVnicStages(): StageTimings<VnicStage> {
  return new StageTimings(VNIC_STAGES);
}
