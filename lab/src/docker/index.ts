export { composeCommand, composeEnv, docker, dockerBinary, engineAnswers, ensureEngine } from './docker-engine';
export {
  buildLabImages,
  IMAGE_NODE_VERSION,
  IMAGE_TAG,
  imageRef,
  type ImageReport,
  LAB_IMAGES,
  type LabImage,
  missingLabImages,
  NODE_SERVICES,
  OPTIONAL_LAB_IMAGES,
} from './lab-images';
export { dockerCpuGroupsUnavailable, engineCgroupDriver } from './docker-cpu-groups';
export { OPERATOR_CONNECTIONS_PER_ADDRESS, TENANT_FACING_LIMITS, TENANT_FACING_PIDS_LIMIT } from './compose-file';
