export * from './test-redis';
export * from './seed-registry';
export {
  JaegerClient,
  kafkaAdminCredentials,
  type LabClients,
  labClients,
  type SendResult,
  ServiceClient,
  VmClient,
} from './lab-clients';
export { startTestLab, type TestLab, type TestLabOptions } from './test-lab';
export { TEST_SERVICE_TOKENS, testAdminHeaders } from './test-service-tokens';
export { waitFor } from './wait-for';
export { startTestKafka, type TestKafka } from './test-kafka';
export { type ServiceProcess, startServiceProcess } from './service-process';
export { startTestJaeger, type TestJaeger } from './test-jaeger';
export * from './suite-redis';
