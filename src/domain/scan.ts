/** The scan (ALGORITHM.md §1) and its validation. Pure: no I/O. */

export interface AssetQuote {
  readonly price: number;
  readonly irp: number;
}

export interface Scan {
  readonly ts: number;
  readonly scan: number;
  readonly vel_div: number;
  readonly vol_ok: boolean;
  readonly assets: Readonly<Record<string, AssetQuote>>;
}

export type ScanCheck =
  | { readonly ok: true; readonly scan: Scan }
  | { readonly ok: false; readonly reason: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(reason: string): ScanCheck {
  return { ok: false, reason };
}

/**
 * Checks one parsed value against ALGORITHM.md §1. `lastAccepted` is the number of
 * the last accepted scan (or null before the first). The reason names the field.
 */
export function validateScan(value: unknown, lastAccepted: number | null): ScanCheck {
  if (!isPlainObject(value)) return fail('scan must be a JSON object');
  const { ts, scan, vel_div, vol_ok, assets } = value;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts))
    return fail(`"ts" must be an integer (epoch ms), got ${show(ts)}`);
  if (typeof scan !== 'number' || !Number.isSafeInteger(scan))
    return fail(`"scan" must be an integer, got ${show(scan)}`);
  if (lastAccepted !== null && scan <= lastAccepted)
    return fail(`"scan" ${scan} is not greater than the last accepted scan ${lastAccepted}`);
  if (typeof vel_div !== 'number' || !Number.isFinite(vel_div))
    return fail(`"vel_div" must be a finite number, got ${show(vel_div)}`);
  if (typeof vol_ok !== 'boolean') return fail(`"vol_ok" must be a boolean, got ${show(vol_ok)}`);
  if (!isPlainObject(assets)) return fail(`"assets" must be an object, got ${show(assets)}`);
  for (const symbol in assets) {
    if (symbol === '') return fail('"assets" has an empty symbol');
    const q = assets[symbol];
    if (!isPlainObject(q)) return fail(`assets.${symbol} must be an object, got ${show(q)}`);
    const { price, irp } = q;
    if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0)
      return fail(`assets.${symbol}.price must be a finite number > 0, got ${show(price)}`);
    if (typeof irp !== 'number' || !Number.isFinite(irp) || irp < 0 || irp > 1)
      return fail(`assets.${symbol}.irp must be a finite number in [0, 1], got ${show(irp)}`);
  }
  return { ok: true, scan: value as unknown as Scan };
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object') return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object';
  return String(v);
}
