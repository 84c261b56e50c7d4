export {
  LINKTYPE_ETHERNET,
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_RECORD_HEADER_BYTES,
  PCAPNG_BLOCK_TYPE,
} from './pcap-format';
export { type PcapCapture, type PcapRecord, readPcap } from './pcap-reader';
export { type CapturedFrame, pcapFile } from './pcap-writer';
