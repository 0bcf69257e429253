/**
 * Worker entry: reads a scan file, parses its lines and packs them (scan-pack.ts) for the
 * thread that replays them. It sends a batch only while it holds a credit (the receiver
 * returns one per batch it takes), so at most `credits` batches wait in memory. Asked to,
 * it hashes the lines as it reads them (a dataset's identity, as parity reports it).
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { readScanLineBatches } from './scan-lines.js';
import { ScanPacker } from './scan-pack.js';
import type { ReaderMessage, ReaderStart } from './scan-read-thread.js';

const port = parentPort;
if (port === null) throw new Error('scan-read-worker runs as a worker thread only');
const { path, credits, hashLines } = workerData as ReaderStart;
const send = (m: ReaderMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let credit = credits;
let wake: (() => void) | null = null;
port.on('message', (n: number) => {
  credit += n;
  wake?.();
  wake = null;
});

async function read(): Promise<void> {
  const packer = new ScanPacker();
  const hash = hashLines ? createHash('sha256') : null;
  // The same numbered, non-blank lines the decision thread's reader gives (parsed by the packer).
  const { batches, bytesRead } = readScanLineBatches(path);
  for await (const lines of batches) {
    if (hash) for (const line of lines) hash.update(`${line.lineNo}:${line.text}\n`);
    while (credit === 0) await new Promise<void>((r) => (wake = r));
    credit -= 1;
    const packed = packer.pack(lines, bytesRead());
    send({ kind: 'lines', packed }, [packed.numbers.buffer as ArrayBuffer]);
  }
  send({ kind: 'end', bytes: bytesRead(), linesHash: hash?.digest('hex') ?? null });
}

read().then(
  () => port.close(),
  (err: Error) => {
    send({ kind: 'error', name: err.name, message: err.message });
    port.close();
  },
);
