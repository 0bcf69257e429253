/**
 * A testing aid for crash-point tests of the real process: `PINK_FAULT_KILL_AT=<point>[:n]`
 * makes `pink run` SIGKILL itself at the n-th (default first) occurrence of an effect, so a
 * test can put a kill -9 exactly between two effects. Points: `before-submit-entry`,
 * `after-submit-entry`, `after-write-ahead-entry`, the same three with `-exit`, and
 * `after-fill-drain` (facts with a fill read off the wire, not yet applied),
 * `before-command-checkpoint` (an operator command applied in memory, its ledger rows
 * flushed, the journal checkpoint that records it not written) and
 * `after-command-checkpoint` (recorded, its outcome not yet published nor the item
 * removed from the queue). It only ever
 * kills its own process; unset (the default) it changes nothing.
 */
import type { Journal, JournalState } from '../adapters/files/journal.js';
import { optionalPartsOf, type VenuePort } from '../domain/venue.js';
import { CliError } from './errors.js';

const POINTS = [
  'before-submit-entry',
  'after-submit-entry',
  'after-write-ahead-entry',
  'before-submit-exit',
  'after-submit-exit',
  'after-write-ahead-exit',
  'after-fill-drain',
  'before-command-checkpoint',
  'after-command-checkpoint',
] as const;

type Point = (typeof POINTS)[number];

export interface FaultKill {
  venue(inner: VenuePort): VenuePort;
  journal(inner: Journal): Journal;
}

/** Parses PINK_FAULT_KILL_AT; null when unset. A bad value is refused, naming it. */
export function faultKillFrom(
  env: NodeJS.ProcessEnv,
  kill = () => process.kill(process.pid, 'SIGKILL'),
): FaultKill | null {
  const raw = env.PINK_FAULT_KILL_AT;
  if (raw === undefined || raw === '') return null;
  const [name, count = '1'] = raw.split(':');
  const n = /^\d+$/.test(count) ? Number(count) : Number.NaN;
  if (!POINTS.includes(name as Point) || !Number.isInteger(n) || n < 1)
    throw new CliError(
      `PINK_FAULT_KILL_AT must be <point>[:n] with point one of ${POINTS.join(', ')}, got "${raw}"`,
    );
  let left = n;
  const at = (point: Point): void => {
    if (point !== name || --left > 0) return;
    kill();
  };
  const purposeOf = (reduceOnly: boolean) => (reduceOnly ? 'exit' : 'entry');
  return {
    venue: (inner) => ({
      name: inner.name,
      submit: async (order) => {
        at(`before-submit-${purposeOf(order.reduceOnly)}`);
        await inner.submit(order);
        at(`after-submit-${purposeOf(order.reduceOnly)}`);
      },
      cancel: (id, asset) => inner.cancel(id, asset),
      drain: async (now) => {
        const facts = await inner.drain(now);
        if (facts.some((f) => f.kind === 'fill')) at('after-fill-drain');
        return facts;
      },
      snapshot: () => inner.snapshot(),
      history: (since, assets) => inner.history(since, assets),
      lookup: (id, asset) => inner.lookup(id, asset),
      close: () => inner.close(),
      ...optionalPartsOf(inner),
    }),
    journal: (inner) => {
      // A checkpoint whose newest command differs from the last one written records a command.
      let newestCommand: string | undefined;
      const newestOf = (state: JournalState | null) => state?.commands?.at(-1)?.[0];
      return {
        load: async () => {
          const state = await inner.load();
          newestCommand = newestOf(state);
          return state;
        },
        save: async (state) => {
          const recordsCommand = newestOf(state) !== newestCommand;
          if (recordsCommand) at('before-command-checkpoint');
          await inner.save(state);
          newestCommand = newestOf(state);
          if (recordsCommand) at('after-command-checkpoint');
        },
        intents: () => inner.intents(),
        intend: async (intent) => {
          await inner.intend(intent);
          at(`after-write-ahead-${intent.purpose === 'EXIT' ? 'exit' : 'entry'}`);
        },
      };
    },
  };
}
