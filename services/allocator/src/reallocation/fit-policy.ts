/**
 * How the reallocation loop makes a share set fit the register stages: what it shares out, and what it does when
 * first fit cannot place the set. Its own module so the in-process allocation benchmark models the same numbers.
 */

/** First fit leaves gaps: the policy shares out this much of the cells there are. */
export const PACKING_SLACK = 0.97;
/** A share set first fit cannot place (fragmentation) is tried again this much smaller, up to FIT_ATTEMPTS times. */
export const SHRINK_ON_MISFIT = 0.95;
export const FIT_ATTEMPTS = 6;

/** Cells a page table holds, over all its registers. */
export function heldCells(pageTable: Readonly<Record<string, { readonly amount: number }>>): number {
  return Object.values(pageTable).reduce((total, entry) => total + entry.amount, 0);
}

/** The slots a set of tenants may share out of `freeCells` (the cells nobody else holds), after the packing slack. */
export function shareableSlots(freeCells: number, cellsPerSlot: number): number {
  return Math.max(0, Math.floor((freeCells * PACKING_SLACK) / cellsPerSlot));
}

/** `shares`, each SHRINK_ON_MISFIT smaller (at least one slot): the next attempt after a misfit. */
export function shrunkShares(shares: ReadonlyMap<string, number>): Map<string, number> {
  return new Map([...shares].map(([tenant, slots]) => [tenant, Math.max(1, Math.floor(slots * SHRINK_ON_MISFIT))]));
}
