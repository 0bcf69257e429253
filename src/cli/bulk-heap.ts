/**
 * `pink parity` allocates short-lived objects by the million (parsed scans, decisions, the
 * reference and PINK paths' records), enough that with V8's default young generation (16 MB
 * semi-spaces) many outlive a scavenge and are copied and promoted: 64 MB semi-spaces make
 * it ~15 % faster for ~20 MB more (README, performance). V8 takes the size only when it
 * starts, so the command runs itself once more with the flag, in a child that inherits
 * stdio, environment and exit status. `pink replay` no longer does: its ledger rows are
 * encoded as they are queued and die young, and the larger young generation bought no
 * speed there for ~60 MB more (paired runs, 300k scans). `pink run` keeps the default: it
 * allocates slowly and its memory is what the soak measures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Commands whose old space grows by half its live size after a full collection
 * (`--heap-growing-percent=50`) instead of V8's default factor of up to 4: a replay's live
 * heap is small (8-40 MB) and nearly everything else it allocates is garbage, which the
 * default lets pile up to a limit set by the live size times that factor, so each MB the
 * process keeps (the command line's own modules included) cost 2-4 MB at the peak.
 * Measured on 300k scans with the ledger, alternating runs: peak 508-529 -> 448-461 MB,
 * speed unchanged within the VM's noise (README, performance). A growth factor, not a
 * limit: a replay that needs more heap still gets it.
 */
export const LEAN_HEAP_COMMANDS: ReadonlySet<string> = new Set(['replay', '__bench-replay-ledger']);
export const DEFAULT_HEAP_GROWING_PERCENT = 50;
const GROWING_FLAG = '--heap-growing-percent';

export const BULK_COMMANDS: ReadonlySet<string> = new Set(['parity']);
export const DEFAULT_BULK_SEMI_SPACE_MB = 64;
const FLAG = '--max-semi-space-size';

export class BulkHeapSettingError extends Error {
  override name = 'BulkHeapSettingError';
}

/**
 * The node arguments to run this command again with, or null to run it here: not a bulk
 * command, the flag already given (by the operator, NODE_OPTIONS or an earlier re-run), or
 * PINK_BULK_SEMI_SPACE_MB=0.
 */
export function bulkRerunArgs(
  argv: readonly string[],
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] | null {
  const command = argv[2];
  if (command === undefined || !BULK_COMMANDS.has(command)) return null;
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => a === FLAG || a.startsWith(`${FLAG}=`))) return null;
  const mb = semiSpaceMb(env.PINK_BULK_SEMI_SPACE_MB);
  if (mb === 0) return null;
  return [...execArgv, `${FLAG}=${mb}`, ...argv.slice(1)];
}

function semiSpaceMb(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return DEFAULT_BULK_SEMI_SPACE_MB;
  const mb = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(mb) || mb < 0 || mb > 1024)
    throw new BulkHeapSettingError(
      `PINK_BULK_SEMI_SPACE_MB must be an integer from 0 (off) to 1024 (MB per semi-space), got "${text}"`,
    );
  return mb;
}

/**
 * The V8 flag to set in this process before the command loads (v8.setFlagsFromString), or
 * null: not such a command, the flag already given (node option or NODE_OPTIONS), or
 * PINK_HEAP_GROWING_PERCENT=0.
 */
export function leanHeapFlag(
  argv: readonly string[],
  execArgv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string | null {
  const command = argv[2];
  if (command === undefined || !LEAN_HEAP_COMMANDS.has(command)) return null;
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => a === GROWING_FLAG || a.startsWith(`${GROWING_FLAG}=`))) return null;
  const percent = growingPercent(env.PINK_HEAP_GROWING_PERCENT);
  return percent === 0 ? null : `${GROWING_FLAG}=${percent}`;
}

function growingPercent(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return DEFAULT_HEAP_GROWING_PERCENT;
  const percent = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000)
    throw new BulkHeapSettingError(
      `PINK_HEAP_GROWING_PERCENT must be an integer from 0 (V8's default) to 1000 (percent of the live heap the old space may grow by), got "${text}"`,
    );
  return percent;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs node with `args`, stdio inherited; resolves to the exit code this process should
 * end with. Termination signals sent to this process are passed on, and a child killed by
 * a signal is reported as 128 + its number, as a shell does.
 */
export function runChild(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    // Handlers first: a signal arriving while the child starts must not end this process
    // (Node runs them on the event loop, after spawn has returned the child).
    let child: ChildProcess | null = null;
    const forward = (signal: NodeJS.Signals) => child?.kill(signal);
    for (const s of FORWARDED) process.on(s, forward);
    // The IPC channel is only a lifeline: the child ends when it closes (dieWithParent).
    child = spawn(process.execPath, args, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [LIFELINE]: String(process.pid) },
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

const LIFELINE = 'PINK_BULK_CHILD';

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
