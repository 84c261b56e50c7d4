export * from './topics';
export * from './component-status.message';
export * from './kafka-client.factory';
export * from './component-status.publisher';
export * from './ensure-topics';
export * from './packet-trace.message';
export * from './parse-message';
export * from './program-event.message';
