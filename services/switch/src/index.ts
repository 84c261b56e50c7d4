// What other packages (the benchmarks) use of the switch: its pipeline, run in-process.
export { SwitchPipeline, type IngressFrame, type PipelineOptions } from './pipeline/switch-pipeline';
export type { SwitchPort, Verdict, DropReason } from './pipeline/switch-port';
