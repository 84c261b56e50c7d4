import type { SwitchPort } from './switch-port';

/**
 * MAC learning, one table per VLAN, so a tenant's addresses never resolve in another tenant's VLAN whatever MAC a
 * frame carries. MACs are 48-bit numbers (exact in a double). `generation` grows whenever a learned location
 * changes or a port goes, which is what invalidates the flow cache.
 */
export class MacTable {
  private readonly byVlan = new Map<number, Map<number, SwitchPort>>();
  private generationCounter = 0;

  get generation(): number {
    return this.generationCounter;
  }

  lookup(vlan: number, mac: number): SwitchPort | undefined {
    return this.byVlan.get(vlan)?.get(mac);
  }

  /** Records that `mac` lives behind `port` in its VLAN; a move to another port bumps the generation. */
  learn(port: SwitchPort, mac: number): void {
    let table = this.byVlan.get(port.vlan);
    if (!table) {
      table = new Map();
      this.byVlan.set(port.vlan, table);
    }
    const known = table.get(mac);
    if (known === port) return;
    table.set(mac, port);
    // A new address cannot make a cached decision wrong... except an unknown-unicast flood for it, so bump anyway.
    this.generationCounter += 1;
  }

  /** Forgets every address learned on `port` (it was detached). */
  forgetPort(port: SwitchPort): void {
    const table = this.byVlan.get(port.vlan);
    if (!table) return;
    for (const [mac, owner] of table) if (owner.no === port.no) table.delete(mac);
    this.generationCounter += 1;
  }

  size(): number {
    let total = 0;
    for (const table of this.byVlan.values()) total += table.size;
    return total;
  }
}
