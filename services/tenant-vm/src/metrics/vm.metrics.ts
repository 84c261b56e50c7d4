import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY, type Sample, scrapedCounter, scrapedGauge } from '@tenantlab/shared';
import type { Registry } from 'prom-client';
import { CircuitSocketsService } from '../circuits/circuit-sockets.service';
import { TENANT_VM_CONFIG, type TenantVmConfig } from '../config/tenant-vm.config';
import { VnicService } from '../vnic/vnic.service';

type VmLabel = 'tenant' | 'vm';

/**
 * The VM's metrics, read at each scrape from what GET /vnic and GET /circuits show: its vNIC's frames, bytes and
 * send waits, and its circuits with their bytes. Every series carries the VM's `tenant` and `vm` (one value each).
 */
@Injectable()
export class VmMetrics {
  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(TENANT_VM_CONFIG) config: TenantVmConfig,
    vnic: VnicService,
    circuits: CircuitSocketsService,
  ) {
    const labels = { tenant: config.TENANT_ID, vm: config.VM_ID };
    const labelNames: VmLabel[] = ['tenant', 'vm'];
    const one = (value: () => number) => (): Sample<VmLabel>[] => [[labels, value()]];
    const counter = (name: string, help: string, value: () => number): void => {
      scrapedCounter({ registry, name, help, labelNames, read: one(value) });
    };
    counter(
      'tenantlab_vm_vnic_sent_frames_total',
      'Frames the vNIC wrote to its tx stream.',
      () => vnic.status().sent.frames,
    );
    counter('tenantlab_vm_vnic_sent_bytes_total', 'Bytes of the frames the vNIC sent.', () => vnic.status().sent.bytes);
    counter(
      'tenantlab_vm_vnic_send_waits_total',
      'Times a send waited for room in the tx stream.',
      () => vnic.status().sent.waits,
    );
    counter(
      'tenantlab_vm_vnic_received_frames_total',
      'Frames the vNIC read from its rx stream.',
      () => vnic.status().received.frames,
    );
    counter(
      'tenantlab_vm_vnic_received_bytes_total',
      'Bytes of the frames the vNIC received.',
      () => vnic.status().received.bytes,
    );
    counter(
      'tenantlab_vm_vnic_received_malformed_frames_total',
      'Received frames that could not be parsed.',
      () => vnic.status().received.malformed,
    );
    counter(
      'tenantlab_vm_circuit_sent_bytes_total',
      'Payload bytes this VM wrote over its circuits.',
      () => circuits.traffic().sentBytes,
    );
    counter(
      'tenantlab_vm_circuit_received_bytes_total',
      'Payload bytes this VM read from its circuits.',
      () => circuits.traffic().receivedBytes,
    );
    scrapedGauge({
      registry,
      name: 'tenantlab_vm_circuits',
      help: 'Circuits open at this VM.',
      labelNames,
      read: one(() => circuits.list().length),
    });
    scrapedCounter({
      registry,
      name: 'tenantlab_vm_circuit_resets_total',
      help: 'Circuits of this VM that ended in a reset, by error code.',
      labelNames: ['tenant', 'vm', 'code'],
      read: () => Object.entries(circuits.resets()).map(([code, reset]) => [{ ...labels, code }, reset.count]),
    });
  }
}
