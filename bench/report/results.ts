// The shape of one benchmark run as written to bench/results/*.json.
import type { ChannelsResult } from '../scenarios/channels.js';
import type { FanoutResult } from '../scenarios/fanout.js';
import type { IdleResult } from '../scenarios/idle.js';
import type { PipelineRun } from '../scenarios/pipeline.js';
import type { ResumeResult } from '../scenarios/resume.js';
import type { StormResult } from '../scenarios/storm.js';
import type { Machine } from './machine.js';

export interface RunError {
  scenario: string;
  target: string;
  message: string;
}

/** Scenario time of a run, per scenario (seconds, wall clock). */
export type Durations = Record<string, number>;

export interface Results {
  startedAt: string;
  finishedAt: string;
  mode: 'quick' | 'full';
  command: string;
  machine: Machine;
  loadAverageAtEnd: number[];
  fanout: FanoutResult[];
  pipeline: PipelineRun[];
  idle: IdleResult[];
  /** Absent in runs recorded before these scenarios existed. */
  storm?: StormResult[];
  channels?: ChannelsResult[];
  resume?: ResumeResult[];
  durations?: Durations;
  errors: RunError[];
}
