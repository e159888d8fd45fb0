/**
 * `kubemu chaos run SCENARIO.yaml`: checks the scenario (a bad file stops
 * here, naming the field, before any traffic), resolves the target, starts
 * the pod tracker and the traffic, runs the steps, then prints the report
 * (or --json) and exits 0 when every assertion held and every step
 * succeeded, 1 otherwise. Requests go to a JSON-lines file (--out, default
 * under the cluster's state directory).
 *
 * Wiring: `registerChaosRun(program.command('chaos'))` — the `chaos` group
 * may hold the fault commands too; their names are accepted as fault steps.
 */
import type { Command } from 'commander';

export class ChaosRunError extends Error {}

export interface ChaosRunOptions {
  name: string;
  out?: string;
  json?: boolean;
  preflight: boolean;
}

export function registerChaosRun(chaos: Command): Command {
  return chaos
    .command('run')
    .description('run a chaos scenario: steady HTTP traffic to a target while steps inject faults, then a report (exit 1 when an expectation fails)')
    .argument('<scenario>', 'scenario file (YAML), e.g. scripts/chaos/scenarios/node-loss-behind-lb.yaml')
    .option('--name <name>', 'cluster name', 'kubemu')
    .option('--out <file>', 'where to write one JSON line per request (default /var/lib/kubemu/<name>/chaos/<scenario>-<time>.jsonl)')
    .option('--json', 'print the report as JSON')
    .option('--no-preflight', 'start even if the target does not answer yet')
    .action(async (file: string, o: ChaosRunOptions) => {
      const siblings = chaos.commands.map((c) => c.name()).filter((n) => n !== 'run');
      const { chaosRun } = await import('./chaos-run.js');
      process.exitCode = await chaosRun(file, o, siblings);
    });
}
