// What other packages (the benchmarks) use of the tenant VM: its vNIC's sender and receiver, run in-process, and how
// its traffic generator numbers flows and draws them.
export { FLOW_BASE_PORT, TRAFFIC_DST_PORT } from './traffic/traffic-generator';
export { ZipfSampler } from './traffic/zipf-sampler';
export {
  DEFAULT_SEND_BATCH,
  MAX_SEND_BATCH,
  newSenderCounters,
  PortSender,
  type PortSendOptions,
  type PortSenderCounters,
} from './vnic/port-sender';
export { newReceiverCounters, PortReceiver, type PortReceiverCounters } from './vnic/port-receiver';
export { newVnicStages, VNIC_STAGES, type VnicStage } from './vnic/vnic-stages';
