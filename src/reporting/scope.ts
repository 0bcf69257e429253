/**
 * What a report covers: an optional run (`--run-id`) and an optional UTC time window
 * `[--from, --to)`. Times are ISO 8601: a date (`2025-05-20`, the whole day: `--from`
 * takes its start, `--to` its end) or a date and time (`2025-05-20T12:00`,
 * `2025-05-20 12:00:00.250Z`, `2025-05-20T14:00+02:00`); no zone means UTC.
 */

export interface ReportScope {
  readonly runId: string | null;
  /** Inclusive lower bound, epoch ms (UTC). */
  readonly fromMs: number | null;
  /** Exclusive upper bound, epoch ms (UTC). */
  readonly toMs: number | null;
}

export interface ReportScopeInput {
  readonly runId?: string | null;
  readonly from?: string | null;
  readonly to?: string | null;
}

export class ReportInputError extends Error {
  override name = 'ReportInputError';
}

const DAY_MS = 86_400_000;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const RUN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const EXAMPLE = 'e.g. 2025-05-20, 2025-05-20T12:00:00Z or 2025-05-20T14:00+02:00';

/**
 * Parses one bound. `end` = this is `--to`: a bare date then means the end of that day
 * (the next midnight, exclusive), so `--from D --to D` is the whole day D.
 */
export function parseTimeBound(option: string, text: string, end: boolean): number {
  const bad = (why: string) =>
    new ReportInputError(`${option} "${text}": ${why} (expected an ISO 8601 date or date-time, ${EXAMPLE})`);
  const m = ISO.exec(text.trim());
  if (!m) throw bad('not ISO 8601');
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    month < 1 ||
    month > 12 ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  )
    throw bad('no such calendar date');
  if (h === undefined) return date.getTime() + (end ? DAY_MS : 0);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) throw bad('no such time of day');
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  let offsetMin = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const zh = Number(zm[2]);
    const zmin = zm[3] === undefined ? 0 : Number(zm[3]);
    if (zh > 14 || zmin > 59) throw bad('no such UTC offset');
    offsetMin = (zm[1] === '-' ? -1 : 1) * (zh * 60 + zmin);
  }
  return date.getTime() + ((hour * 60 + minute - offsetMin) * 60 + second) * 1000 + ms;
}

/** Validates the report options; throws ReportInputError naming the bad option. */
export function parseScope(i: ReportScopeInput): ReportScope {
  const fromMs = i.from ? parseTimeBound('--from', i.from, false) : null;
  const toMs = i.to ? parseTimeBound('--to', i.to, true) : null;
  if (fromMs !== null && toMs !== null && fromMs >= toMs)
    throw new ReportInputError(
      `--from ${i.from} is not before --to ${i.to} (the window is [from, to), UTC; a bare --to date includes that whole day)`,
    );
  const runId = i.runId === undefined || i.runId === null ? null : parseRunId('--run-id', i.runId);
  return { runId, fromMs, toMs };
}

/** A run id given on the command line (what the ledger's run_id column holds). */
export function parseRunId(option: string, text: string): string {
  if (!RUN_ID.test(text))
    throw new ReportInputError(
      `${option} "${text}": not a run id (letters, digits, . _ : -, at most 128; see the runs table of a report)`,
    );
  return text;
}
