/**
 * Redis key schema. Keys that must live together (and be touched by one MULTI or script) share a hash tag in braces,
 * so the same code runs on Redis Cluster.
 */
export const REDIS_KEYS = {
  /**
   * Hash: one registered VM (id, tenant, url, registeredAt, lastHeartbeatAt, and sha256 hashes of its API token and
   * of its Redis ACL password; never the secrets themselves).
   */
  vm: (vmId: string): string => `registry:{vms}:vm:${vmId}`,
  /** Sorted set of VM ids scored by registration time: the registry's index. */
  vmIndex: 'registry:{vms}:index',
  /** Hash: tenant -> its VLAN id on the packet path (1-4094), given when the tenant is declared, returned when it is deleted. */
  tenantVlans: 'registry:{vms}:tenant-vlans',
  /** String: the last VLAN id given out. */
  lastTenantVlan: 'registry:{vms}:last-vlan',
  /**
   * Hash: one declared tenant (id, sha256 of its enrollment secret, createdAt, caps as JSON). Only declared tenants'
   * VMs may register; the tenant's VLAN id is in `tenantVlans`, given when the tenant is declared.
   */
  tenant: (tenantId: string): string => `registry:{vms}:tenant:${tenantId}`,
  /** Set of the declared tenants' ids. */
  tenantIndex: 'registry:{vms}:tenants',
  /** String: the VM id whose API token has this sha256 hash, so a bearer token alone names its VM. */
  vmToken: (tokenHash: string): string => `registry:{vms}:token:${tokenHash}`,

  // The operator's circuit records. All share the tag `{circuits}`: one script checks quotas and writes a circuit's
  // record and indexes atomically. (The circuits' own keys, `circuit:{id}:*`, are in circuit/circuit-keys.ts.)
  /** Hash: one circuit (id, mode, service, capacity, both endpoints, createdAt, the quota it holds, state). */
  circuit: (circuitId: string): string => `ops:{circuits}:circuit:${circuitId}`,
  /** Set of every circuit id: what the lease reaper walks. */
  circuitIndex: 'ops:{circuits}:index',
  /** Set of the ids of one VM's live circuits (either side): its ACL grants are built from this. */
  vmCircuits: (vmId: string): string => `ops:{circuits}:vm:${vmId}:circuits`,
  /** Hash: quota use, `<quota>:<vm or tenant>` -> amount held by live circuits. */
  circuitUsage: 'ops:{circuits}:usage',
  /** Hash: tenant -> VM that listens on this service name in that tenant. */
  serviceListeners: (service: string): string => `ops:{circuits}:listeners:${service}`,
  /**
   * Hash: what the operator's wardens did to each VM (`ring-resets:<vm>`, `connections-closed:<vm>`, and
   * `last-reason:<vm>`), shown to the VM in the operator's GET /circuits.
   */
  wardenCounts: 'ops:{circuits}:warden',
  /** Set of the service names one VM listens on. */
  vmListeners: (vmId: string): string => `ops:{circuits}:vm:${vmId}:listeners`,

  // The allocator's linked pipeline. Both share the tag `{pipeline}`: one script checks the version it read and
  // writes the new pipeline and its stream entry together.
  /** String: the current linked pipeline as JSON (version, createdAt, each tenant's program and page table). */
  pipelineCurrent: 'alloc:{pipeline}:current',
  /** Stream, MAXLEN ~ 100: each new pipeline version (`version`, `pipeline` JSON, trace context); the switch follows it. */
  pipelineVersions: 'alloc:{pipeline}:versions',

  /**
   * String: the store's epoch, a random id the first trusted service to find it missing sets (store-epoch.ts). A
   * service that saw one epoch and then finds another, or none, knows Redis lost its state (restarted empty).
   */
  storeEpoch: 'store:epoch',

  /**
   * Hash: sender VM -> frames the switch acknowledged at its tx and holds in a port impairment, not yet written to
   * their destination. Written in the same MULTI as the acknowledgements and writes that change it, so a switch that
   * stops holding frames leaves their number here for the next switch to count (`impaired-switch-restart`).
   */
  impairmentHeld: 'switch:impairments:held',
} as const;
