export * from './packet.constants';
export * from './frame-reject-reasons';
export * from './frame-view';
export * from './parse-frame';
export * from './checksum';
export { ipv4ToString, macToString, parseIpv4, parseMac } from './addresses';
export * from './build-frame';
export { withVlanTag, withoutVlanTag, writeVlanId } from './vlan-tag';
export * from './random-frame';
