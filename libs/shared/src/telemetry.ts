// A separate entry point: `instrumentation.ts` imports only this, so starting the SDK does not first load the
// modules it has to patch (index.ts pulls in NestJS, ioredis and kafkajs).
export * from './telemetry/start-telemetry';
