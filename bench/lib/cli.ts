/**
 * Command line of `npm run bench`.
 * @module
 */
import { CONTENDERS, isContender, type ContenderName } from './contenders.js';
import { CURVE_NAMES, type CurveName } from './curves.js';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios.js';

/** Parsed options. */
export interface CliOptions {
  scenarios: ScenarioName[];
  rounds: number;
  quick: boolean;
  /** Write V8 CPU profiles of every child process to bench/results/tmp/cpu-prof/. */
  cpuProf: boolean;
  /** Run wsmesh from its TypeScript sources through tsx instead of a tsc build. */
  fromSrc: boolean;
  contenders: ContenderName[];
  /** Cost curves to run instead of the scenarios (none: run the scenarios). */
  curves: CurveName[];
  help: boolean;
}

/** Usage text. */
export const USAGE = `Usage: npm run bench -- [options]

  --scenario ${SCENARIO_NAMES.join('|')}|all
                         scenario to run (default: all); may be repeated or comma-separated
  --rounds N             interleaved repetitions (default 3, or 1 with --quick; at most 20)
  --quick                small counts, for a smoke run of a few seconds per trial
  --cpu-prof             write CPU profiles of every child process to bench/results/tmp/cpu-prof/
  --from-src             run wsmesh from src/ through tsx (default: a tsc build made first)
  --contenders a,b       subset of: ${CONTENDERS.join(', ')} (default: all)
  --curves [a,b]         run cost curves instead of scenarios: ${CURVE_NAMES.join(', ')} (default: all)
  --help                 this text

Results are printed as markdown tables and written to bench/results/<timestamp>.json.`;

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function curvesOf(value: string | undefined): CurveName[] {
  if (value === undefined || value === 'all') return [...CURVE_NAMES];
  return splitList(value.toLowerCase()).map((part) => {
    const name = CURVE_NAMES.find((known) => known === part);
    if (name === undefined)
      throw new Error(`Unknown curve "${part}" (use ${CURVE_NAMES.join(', ')})`);
    return name;
  });
}

function scenariosOf(value: string): ScenarioName[] {
  const names: ScenarioName[] = [];
  for (const part of splitList(value.toLowerCase())) {
    if (part === 'all') names.push(...SCENARIO_NAMES);
    else {
      const name = SCENARIO_NAMES.find((known) => known === part);
      if (name === undefined) {
        throw new Error(`Unknown scenario "${part}" (use ${SCENARIO_NAMES.join(', ')} or all)`);
      }
      names.push(name);
    }
  }
  return names;
}

/** Parses `argv` (without node and script). Throws on bad input. */
export function parseCli(argv: readonly string[]): CliOptions {
  const options: CliOptions = {
    scenarios: [],
    rounds: 0,
    quick: false,
    cpuProf: false,
    fromSrc: false,
    contenders: [...CONTENDERS],
    curves: [],
    help: false,
  };
  const args = argv.flatMap((arg) => {
    const equals = arg.indexOf('=');
    return arg.startsWith('--') && equals > 0
      ? [arg.slice(0, equals), arg.slice(equals + 1)]
      : [arg];
  });
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    const value = (): string => {
      const next = args[++index];
      if (next === undefined) throw new Error(`${String(arg)} needs a value`);
      return next;
    };
    switch (arg) {
      case '--scenario':
      case '--scenarios':
        options.scenarios.push(...scenariosOf(value()));
        break;
      case '--rounds': {
        const rounds = Number(value());
        if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
          throw new Error('--rounds must be an integer from 1 to 20');
        }
        options.rounds = rounds;
        break;
      }
      case '--quick':
        options.quick = true;
        break;
      case '--cpu-prof':
        options.cpuProf = true;
        break;
      case '--from-src':
        options.fromSrc = true;
        break;
      case '--contenders': {
        const names = splitList(value());
        const unknown = names.filter((name) => !isContender(name));
        if (unknown.length > 0) throw new Error(`Unknown contender(s): ${unknown.join(', ')}`);
        options.contenders = CONTENDERS.filter((name) => names.includes(name));
        break;
      }
      case '--curves': {
        const next = args[index + 1];
        const list = next === undefined || next.startsWith('--') ? undefined : next;
        if (list !== undefined) index++;
        options.curves.push(...curvesOf(list));
        break;
      }
      case '--help':
      case '-h':
        options.help = true;
        break;
      default:
        throw new Error(`Unknown argument "${String(arg)}"`);
    }
  }
  if (options.rounds === 0) options.rounds = options.quick ? 1 : 3;
  if (options.scenarios.length === 0) options.scenarios.push(...SCENARIO_NAMES);
  options.scenarios = [...new Set(options.scenarios)];
  options.curves = CURVE_NAMES.filter((name) => options.curves.includes(name));
  return options;
}
