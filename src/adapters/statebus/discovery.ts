/**
 * How `pink ctl` finds a running PINK that uses the in-process state store: the
 * runtime writes `<varDir>/run/<strategy>.json` ({pid, statePort, startedAt}) once its
 * state server listens, and removes it on a clean stop.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Namespace } from '../../domain/namespaces.js';

export const DiscoverySchema = z
  .object({
    pid: z.number().int().positive(),
    statePort: z.number().int().min(1).max(65535),
    startedAt: z.string().min(1),
    host: z.string().min(1).default('127.0.0.1'),
  })
  .strict();

export type DiscoveryInfo = z.input<typeof DiscoverySchema>;
export type Discovery = z.output<typeof DiscoverySchema>;

export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

export function discoveryPath(dir: string, ns: Namespace): string {
  return path.join(dir, `${ns.strategy}.json`);
}

/** Writes atomically (temporary file + rename) so a reader never sees half a file. */
export async function writeDiscovery(dir: string, ns: Namespace, info: DiscoveryInfo): Promise<string> {
  const checked = DiscoverySchema.parse(info);
  await mkdir(dir, { recursive: true });
  const file = discoveryPath(dir, ns);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(checked)}\n`, { mode: 0o644 });
  await rename(tmp, file);
  return file;
}

/** The discovery record, or null when no file exists; a malformed file is an error naming the field. */
export async function readDiscovery(dir: string, ns: Namespace): Promise<Discovery | null> {
  const file = discoveryPath(dir, ns);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DiscoveryError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DiscoveryError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const r = DiscoverySchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new DiscoveryError(`${file}: field "${issue.path.join('.') || '(root)'}" ${issue.message}`);
  }
  return r.data;
}

/** Removes the file only when it still names this process (a newer runtime may own it). */
export async function removeDiscovery(dir: string, ns: Namespace, pid = process.pid): Promise<void> {
  const current = await readDiscovery(dir, ns).catch(() => null);
  if (current && current.pid !== pid) return;
  await rm(discoveryPath(dir, ns), { force: true });
}

/** True when a process with this pid exists (signal 0 probes without touching it). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
