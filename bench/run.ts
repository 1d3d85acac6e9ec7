/**
 * Benchmark orchestrator (`npm run bench`). For each scenario and round it runs every
 * contender once (order rotated per round), each trial in fresh child processes: the server
 * under test and a load generator. Prints markdown tables of medians, spreads and ratios
 * against raw `ws`, and writes the results to bench/results/<timestamp>.json.
 * @module
 */
import { summarize, type TrialRecord } from './lib/aggregate.js';
import { installExitHandlers, killAllChildren } from './lib/children.js';
import { parseCli, USAGE, type CliOptions } from './lib/cli.js';
import {
  contenderFile,
  contenderLabel,
  rotate,
  usesWsMesh,
  type ContenderName,
} from './lib/contenders.js';
import { runCurves } from './lib/curve-run.js';
import { cpuProfFlags } from './lib/profile.js';
import { describeEnvironment, loadAverage } from './lib/environment.js';
import type { Metrics } from './lib/ipc.js';
import { writeResults, type RunResult, type ScenarioResult } from './lib/results.js';
import { startRedis, type RedisServer } from './lib/redis.js';
import { DEFAULT_SCENARIO_CONTENDERS, SCENARIOS, type Scenario } from './lib/scenarios.js';
import { writeReport } from './lib/report.js';
import { renderTable } from './lib/table.js';
import { buildWsMesh, WSMESH_ENTRY_ENV } from './lib/wsmesh-build.js';
import { runTrial } from './lib/trial.js';

function compact(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

function headline(scenario: Scenario, metrics: Metrics): string {
  return scenario.headline.map((key) => `${key}=${compact(metrics[key] ?? Number.NaN)}`).join(' ');
}

/** Every table printed, for BENCHMARKS.md. */
const printedTables: string[] = [];

async function runScenario(scenario: Scenario, options: CliOptions): Promise<ScenarioResult> {
  const config = scenario.config(options.quick);
  const loadBefore = loadAverage();
  console.log(`\n## ${scenario.title}\n`);
  const applicable = scenario.contenders ?? DEFAULT_SCENARIO_CONTENDERS;
  let contenders: ContenderName[] = options.contenders.filter((name) => applicable.includes(name));
  let redis: RedisServer | undefined;
  if (scenario.needsRedis === true && contenders.includes('socket.io')) {
    redis = await startRedis();
    if (redis === undefined) {
      console.log('Socket.IO skipped in this scenario: no redis-server');
      contenders = contenders.filter((name) => name !== 'socket.io');
    } else {
      console.log(`redis-server started on 127.0.0.1:${redis.port} (pid ${String(redis.pid)})`);
    }
  }
  console.log(`config: ${JSON.stringify(config)}; load average ${loadBefore}`);
  const trials: TrialRecord[] = [];
  try {
    await runRounds(scenario, options, contenders, config, trials, redis);
  } finally {
    await redis?.stop();
  }
  const summary = summarize(trials);
  const loadAfter = loadAverage();
  console.log('');
  printedTables.push(`## ${scenario.title}\n\nconfig: \`${JSON.stringify(config)}\`\n`);
  for (const table of scenario.tables) {
    if (table.contenders !== undefined && !table.contenders.some((c) => contenders.includes(c))) {
      continue;
    }
    const rendered = renderTable(table, summary, contenders, options.rounds);
    printedTables.push(rendered, '');
    console.log(rendered);
    console.log('');
  }
  return { title: scenario.title, config, trials, summary, loadBefore, loadAfter };
}

async function runRounds(
  scenario: Scenario,
  options: CliOptions,
  contenders: ContenderName[],
  config: object,
  trials: TrialRecord[],
  redis: RedisServer | undefined,
): Promise<void> {
  for (let round = 0; round < options.rounds; round++) {
    for (const contender of rotate(contenders, round)) {
      const prefix = `[${scenario.name} round ${round + 1}/${options.rounds}] ${contenderLabel(contender)}`;
      const profileName = `${scenario.name}-r${round + 1}-${contenderFile(contender)}`;
      try {
        const metrics = await runTrial({
          contender,
          loaderScript: scenario.loaderScript,
          loaderConfig: config,
          timeoutMs: scenario.timeoutMs(options.quick),
          serverFlags: options.cpuProf ? cpuProfFlags(`${profileName}-server`) : [],
          loaderFlags: options.cpuProf ? cpuProfFlags(`${profileName}-client`) : [],
          servers: scenario.servers ?? 1,
          ...(redis === undefined ? {} : { redisPort: redis.port }),
          ...(redis?.pid === undefined ? {} : { redisPid: redis.pid }),
        });
        trials.push({ round, contender, metrics });
        console.log(`${prefix}: ${headline(scenario, metrics)}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        trials.push({ round, contender, error: message });
        console.log(`${prefix}: FAILED ${message}`);
      }
    }
  }
}

/** Builds wsmesh with tsc and points the children at the build, unless told to use src. */
function prepareWsMesh(fromSrc: boolean): void {
  if (fromSrc) {
    delete process.env[WSMESH_ENTRY_ENV];
    console.log('wsmesh: running src/ through tsx (--from-src)');
    return;
  }
  const started = Date.now();
  process.env[WSMESH_ENTRY_ENV] = buildWsMesh();
  console.log(`wsmesh: compiled with tsc in ${Date.now() - started} ms`);
}

async function main(): Promise<number> {
  installExitHandlers();
  let options: CliOptions;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(USAGE);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const environment = describeEnvironment();
  const startedAt = new Date().toISOString();
  console.log(
    `# wsmesh bench ${startedAt}\n\nNode ${environment.node}, ${environment.cpuCount} x ${environment.cpuModel}; ` +
      `${Object.entries(environment.versions)
        .map(([name, version]) => `${name} ${version}`)
        .join(', ')}` +
      `${options.quick ? '; QUICK run (small counts)' : ''}`,
  );
  if (options.contenders.some(usesWsMesh)) prepareWsMesh(options.fromSrc);
  if (options.curves.length > 0) return (await runCurves(options)) ? 0 : 1;
  const result: RunResult = {
    startedAt,
    finishedAt: startedAt,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    options,
    environment,
    scenarios: {},
  };
  let failed = false;
  for (const scenario of SCENARIOS) {
    if (!options.scenarios.includes(scenario.name)) continue;
    const outcome = await runScenario(scenario, options);
    if (outcome.trials.some((trial) => trial.error !== undefined)) failed = true;
    result.scenarios[scenario.name] = outcome;
  }
  result.finishedAt = new Date().toISOString();
  console.log(`Results written to ${writeResults(result)}`);
  // Only full runs of every scenario and contender make the published table.
  const everyScenario = SCENARIOS.every((scenario) => options.scenarios.includes(scenario.name));
  if (!options.quick && everyScenario && options.contenders.length >= 4 && !failed) {
    console.log(`Report written to ${writeReport(result, printedTables)}`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    killAllChildren();
    process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    killAllChildren();
    process.exit(1);
  },
);
