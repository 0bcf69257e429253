/**
 * The process's resident memory split into anonymous pages (heaps: what the process
 * itself holds) and file-backed pages (mapped libraries; the embedded ClickHouse engine's
 * library alone is ~160 MB of them, shared and reclaimable). Linux only (/proc).
 */
import { readFileSync } from 'node:fs';

export interface ResidentSplit {
  readonly anonMb: number;
  readonly fileMb: number;
}

const KB_PER_MB = 1024;

/** The split now, of this process or another one's (`pid`), or null where its /proc status is not available. */
export function residentSplit(pid: number | 'self' = 'self'): ResidentSplit | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  const anon = kb('RssAnon');
  const file = kb('RssFile');
  return Number.isFinite(anon) && Number.isFinite(file)
    ? { anonMb: anon / KB_PER_MB, fileMb: file / KB_PER_MB }
    : null;
}

/** The process's peak resident memory so far (getrusage's maxrss), in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / KB_PER_MB;
}
