// libpcap's classic file format (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/): a 24-byte global header,
// then per frame a 16-byte record header and the captured bytes. One definition for the writer and the reader.

/** Magic of a file with microsecond timestamps, as read in the file's own byte order. */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
/** Magic of a file with nanosecond timestamps (the record's second word counts ns). */
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
/** First word of a pcapng file (its Section Header Block type), the same in either byte order. */
export const PCAPNG_BLOCK_TYPE = 0x0a0d0d0a;
/** LINKTYPE_ETHERNET: every record is an Ethernet frame from its destination MAC on. */
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;
