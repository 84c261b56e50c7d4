export * from './test-redis';
export * from './seed-registry';
export { JaegerClient, type LabClients, labClients, type SendResult, ServiceClient, VmClient } from './lab-clients';
export { startTestLab, type TestLab, type TestLabOptions } from './test-lab';
