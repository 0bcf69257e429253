/**
 * V8 heap settings some commands get by default, set before the command loads (main.ts).
 *
 * `pink replay` and `pink parity` set their old space to grow by half its live size
 * (`--heap-growing-percent=50`) and keep their young generation at V8's first size
 * (`--semi-space-growth-factor=1`), in this process (LEAN_HEAP_COMMANDS); `pink soak` keeps
 * its young generation at the runtime's size (YOUNG_GENERATION_COMMANDS).
 *
 * A larger young generation (`--max-semi-space-size`, which V8 takes only at start) runs
 * the command once more in a child that inherits stdio, environment and exit status. It is
 * off by default: it had made `pink parity` ~15 % faster when parity's short-lived objects
 * outlived 16 MB semi-spaces, and no longer does (alternating runs over 1M scans: 13.5-16.8 s
 * with V8's default, 14.2-15.3 s with 64 MB semi-spaces), while its peak went from ~122 to
 * ~235 MB and grew with the file (README, performance). `PINK_BULK_SEMI_SPACE_MB` turns it
 * on for parity.
 *
 * `pink replay` runs itself once more the same way when glibc's allocator lacks the
 * embedded engine's setting, which glibc reads only at start (ENGINE_MMAP_THRESHOLD). It is
 * decided before the configuration is read, so a replay into a ClickHouse server re-runs
 * too (the setting does no harm there; PINK_ENGINE_MMAP_THRESHOLD=0 keeps one process).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

export class BulkHeapSettingError extends Error {
  override name = 'BulkHeapSettingError';
}

/**
 * A process setting some commands get by default (a V8 flag, or a glibc tunable for the
 * engine): which, its value, and the variable that sets it.
 */
interface ProcessSetting {
  readonly flag: string;
  readonly commands: ReadonlySet<string>;
  readonly fallback: number;
  readonly variable: string;
  /** The smallest value other than 0 (default 1). */
  readonly min?: number;
  readonly max: number;
  /** What 0 means, and the unit, for the error message. */
  readonly zero: string;
  readonly unit: string;
  /** Other flags that, given, leave this one unset (they decide the same thing). */
  readonly yieldsTo?: readonly string[];
}

const BULK_COMMANDS: ReadonlySet<string> = new Set(['parity']);
/** 0: no re-run unless PINK_BULK_SEMI_SPACE_MB asks for one (see the module's comment). */
const DEFAULT_BULK_SEMI_SPACE_MB = 0;
const SEMI_SPACE: ProcessSetting = {
  flag: '--max-semi-space-size',
  commands: BULK_COMMANDS,
  fallback: DEFAULT_BULK_SEMI_SPACE_MB,
  variable: 'PINK_BULK_SEMI_SPACE_MB',
  max: 1024,
  zero: 'off',
  unit: 'MB per semi-space',
};

/**
 * Commands whose old space grows by half its live size after a full collection
 * (`--heap-growing-percent=50`) instead of V8's default factor of up to 4: their live heap
 * is small (8-40 MB) and nearly everything else they allocate is garbage, which the default
 * lets pile up to a limit set by the live size times that factor, so each MB the process
 * keeps (the command line's own modules included) costs 2-4 MB at the peak. A replay of
 * 300k scans with the ledger, alternating runs: peak 508-537 -> 448-472 MB; `pink parity`
 * over 1M scans 122-125 MB against 116-121 over 100k; speed unchanged within the VM's noise
 * (README, performance). A growth factor, not a limit: a run that needs more heap gets it.
 */
const LEAN_HEAP_COMMANDS: ReadonlySet<string> = new Set(['replay', 'parity', '__bench-replay-ledger']);
const DEFAULT_HEAP_GROWING_PERCENT = 50;
const GROWING: ProcessSetting = {
  flag: '--heap-growing-percent',
  commands: LEAN_HEAP_COMMANDS,
  fallback: DEFAULT_HEAP_GROWING_PERCENT,
  variable: 'PINK_HEAP_GROWING_PERCENT',
  max: 1000,
  zero: "V8's default",
  unit: 'percent of the live heap the old space may grow by',
};

/**
 * The same commands' young generation stays at V8's first size (1 MB semi-spaces) instead
 * of doubling, up to 16 MB, whenever a scavenge keeps much (`--semi-space-growth-factor=1`,
 * read by V8 each time it would grow, so it can be set in this process): a replay's
 * objects live for a scan, a larger young generation buys them nothing and costs up to
 * 32 MB resident. A replay with the ledger, alternating runs: 300k scans 428-439 ->
 * 393-402 MB, 3M 490 -> 456-463 MB, same speed (README, performance). Left to V8 when the
 * command line sizes the semi-spaces itself (PINK_BULK_SEMI_SPACE_MB's re-run).
 */
const DEFAULT_SEMI_SPACE_GROWTH_FACTOR = 1;
/**
 * `pink soak` too: it lives a day of the runtime in two minutes, so it allocates ~700 times
 * faster than `pink run` and V8 would grow its young generation to 16 MB semi-spaces, which
 * the runtime at its production cadence never does (a live `pink run`'s /metrics after
 * 30 minutes: new space 1 MB). Kept at the runtime's size, the soak's anonymous memory is
 * the runtime's: peak 124 -> 95-101 MB (README, Soak RSS). The soak's heap otherwise keeps V8's
 * defaults, as the runtime's does.
 */
const YOUNG_GENERATION_COMMANDS: ReadonlySet<string> = new Set([...LEAN_HEAP_COMMANDS, 'soak']);
const YOUNG: ProcessSetting = {
  flag: '--semi-space-growth-factor',
  commands: YOUNG_GENERATION_COMMANDS,
  fallback: DEFAULT_SEMI_SPACE_GROWTH_FACTOR,
  variable: 'PINK_SEMI_SPACE_GROWTH_FACTOR',
  max: 16,
  zero: "V8's default",
  unit: 'times the young generation grows by when it fills',
  yieldsTo: ['--max-semi-space-size', '--min-semi-space-size'],
};

/**
 * The embedded engine (chDB) allocates through this process's malloc. glibc raises its mmap
 * threshold each time a large block is freed, up to 32 MB, so once the engine has merged a
 * few parts its megabyte buffers come from the heap's arenas and stay resident after they
 * are freed; a fixed threshold keeps them mmapped and returned on free. glibc reads it only
 * at start (GLIBC_TUNABLES), so a replay without it runs itself again with it. A replay of
 * 3M scans with the ledger, alternating runs: peak 460 -> 429-437 MB, 300k 389-404 ->
 * 381-390 MB, same speed (README, performance). The waiting parent holds ~7 MB of its own.
 */
const ENGINE_COMMANDS: ReadonlySet<string> = new Set(['replay', '__bench-replay-ledger']);
const DEFAULT_ENGINE_MMAP_THRESHOLD = 131_072;
const ENGINE_MMAP_THRESHOLD: ProcessSetting = {
  flag: 'glibc.malloc.mmap_threshold',
  commands: ENGINE_COMMANDS,
  fallback: DEFAULT_ENGINE_MMAP_THRESHOLD,
  variable: 'PINK_ENGINE_MMAP_THRESHOLD',
  min: 4096,
  max: 33_554_432,
  zero: "glibc's default, no re-run",
  unit: 'bytes',
};

/** How to run this command again: node's arguments and the environment. */
export interface BulkRerun {
  readonly args: string[];
  readonly env: Record<string, string | undefined>;
}

/**
 * How to run this command again, or null to run it here: neither a larger young generation
 * asked for (PINK_BULK_SEMI_SPACE_MB, parity) nor the engine's allocator setting missing
 * (replay on glibc). A setting already given (by the operator, NODE_OPTIONS,
 * GLIBC_TUNABLES or an earlier re-run) is never overridden and asks for no re-run.
 */
export function bulkRerun(
  argv: readonly string[],
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  glibc: () => boolean = runsOnGlibc,
): BulkRerun | null {
  const mb = chosen(SEMI_SPACE, argv, execArgv, env);
  const tunables = engineTunables(argv, env, glibc);
  if (mb === null && tunables === null) return null;
  return {
    args: [...execArgv, ...(mb === null ? [] : [`${SEMI_SPACE.flag}=${mb}`]), ...argv.slice(1)],
    env: tunables === null ? { ...env } : { ...env, GLIBC_TUNABLES: tunables },
  };
}

/** GLIBC_TUNABLES with the engine's mmap threshold added, or null when not wanted or given. */
function engineTunables(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  glibc: () => boolean,
): string | null {
  const given = env.GLIBC_TUNABLES ?? '';
  const bytes = chosenValue(ENGINE_MMAP_THRESHOLD, argv, given.split(':'), env);
  if (bytes === null || !glibc()) return null;
  const tunable = `${ENGINE_MMAP_THRESHOLD.flag}=${bytes}`;
  return given === '' ? tunable : `${given}:${tunable}`;
}

function runsOnGlibc(): boolean {
  if (process.platform !== 'linux') return false;
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime !== undefined;
}

/**
 * The V8 flags to set in this process before the command loads (v8.setFlagsFromString):
 * none for other commands; each left out when given as a node option (Node refuses them in
 * NODE_OPTIONS, so only the node option can give them) or set to 0 by its variable.
 */
export function leanHeapFlags(
  argv: readonly string[],
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  return [GROWING, YOUNG].flatMap((setting) => {
    const value = chosen(setting, argv, execArgv, env);
    return value === null ? [] : [`${setting.flag}=${value}`];
  });
}

/** The setting's value for this command line, or null: not its command, the flag given, or 0. */
function chosen(
  setting: ProcessSetting,
  argv: readonly string[],
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): number | null {
  return chosenValue(setting, argv, [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)], env);
}

/** As chosen(), with `given` the settings already in force (flags, or glibc's tunables). */
function chosenValue(
  setting: ProcessSetting,
  argv: readonly string[],
  given: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): number | null {
  const command = argv[2];
  if (command === undefined || !setting.commands.has(command)) return null;
  const deciding = [setting.flag, ...(setting.yieldsTo ?? [])];
  if (given.some((a) => deciding.some((flag) => a === flag || a.startsWith(`${flag}=`)))) return null;
  const text = env[setting.variable];
  const value =
    text === undefined || text.trim() === ''
      ? setting.fallback
      : /^\s*\d+\s*$/.test(text)
        ? Number(text)
        : Number.NaN;
  const min = setting.min ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > setting.max || (value > 0 && value < min))
    throw new BulkHeapSettingError(
      min > 0
        ? `${setting.variable} must be 0 (${setting.zero}) or an integer from ${min} to ${setting.max} (${setting.unit}), got "${text}"`
        : `${setting.variable} must be an integer from 0 (${setting.zero}) to ${setting.max} (${setting.unit}), got "${text}"`,
    );
  return value === 0 ? null : value;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs node with the re-run's arguments and environment, stdio inherited; resolves to the
 * exit code this process should end with. Termination signals sent to this process are
 * passed on, and a child killed by a signal is reported as 128 + its number, as a shell does.
 */
export function runChild(rerun: BulkRerun): Promise<number> {
  return new Promise((resolve, reject) => {
    // Handlers first: a signal arriving while the child starts must not end this process
    // (Node runs them on the event loop, after spawn has returned the child).
    let child: ChildProcess | null = null;
    const forward = (signal: NodeJS.Signals) => child?.kill(signal);
    for (const s of FORWARDED) process.on(s, forward);
    // The IPC channel is only a lifeline: the child ends when it closes (dieWithParent).
    child = spawn(process.execPath, rerun.args, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...rerun.env, [LIFELINE]: String(process.pid) },
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/** The parent's pid, in a child whose IPC channel is its lifeline (dieWithParent). */
export const LIFELINE = 'PINK_BULK_CHILD';

/**
 * In a bulk child: when the parent goes away (kill -9 included) the IPC channel closes and
 * the child ends too, instead of replaying on unseen.
 */
export function dieWithParent(): void {
  const parent = process.env[LIFELINE];
  if (parent === undefined) return;
  delete process.env[LIFELINE];
  const orphaned = () => {
    process.stderr.write('pink: the parent process is gone; stopping\n');
    // Not process.exit(): it waits for a read blocked in the thread pool (a FIFO, a stalled disk).
    process.kill(process.pid, 'SIGKILL');
  };
  // The parent may have died while this process was still loading: the channel is then
  // already gone and this process has been handed to another parent.
  if (!process.channel) {
    if (String(process.ppid) !== parent) orphaned();
    return;
  }
  process.channel.unref();
  process.once('disconnect', orphaned);
}
