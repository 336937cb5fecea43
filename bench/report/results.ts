// The shape of one benchmark run as written to bench/results/*.json.
import type { FanoutResult } from '../scenarios/fanout.js';
import type { IdleResult } from '../scenarios/idle.js';
import type { PipelineRun } from '../scenarios/pipeline.js';
import type { Machine } from './machine.js';

export interface RunError {
  scenario: string;
  target: string;
  message: string;
}

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
  errors: RunError[];
}
