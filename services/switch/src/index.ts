// What other packages (the benchmarks) use of the switch: its pipeline, run in-process, and its program runtime.
export { SwitchPipeline, type IngressFrame, type PipelineOptions } from './pipeline/switch-pipeline';
export type { SwitchPort, Verdict, DropReason } from './pipeline/switch-port';
export {
  compileProgram,
  crc32,
  PacketContext,
  ProgramCodeCache,
  RegisterMemory,
  type CompiledProgram,
  type ProgramHooks,
} from './programs';
