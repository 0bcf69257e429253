/**
 * Worker entry: reads a scan file, parses its lines and packs them (scan-pack.ts) for the
 * thread that replays them. It sends a batch only while it holds a credit (the receiver
 * returns one per batch it takes), so at most `credits` batches wait in memory. Asked to,
 * it hashes the lines as it reads them (a dataset's identity, as parity reports it).
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { textLineBatches } from './scan-lines.js';
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
  let bytes = 0;
  let lineNo = 0;
  for await (const texts of textLineBatches(path, (n) => {
    bytes += n;
  })) {
    const lines: Array<{ lineNo: number; text: string }> = [];
    for (const text of texts) {
      lineNo += 1;
      if (text.trim() === '') continue;
      lines.push({ lineNo, text });
      hash?.update(`${lineNo}:${text}\n`);
    }
    if (lines.length === 0) continue;
    while (credit === 0) await new Promise<void>((r) => (wake = r));
    credit -= 1;
    const packed = packer.pack(lines, bytes);
    send({ kind: 'lines', packed }, [packed.numbers.buffer as ArrayBuffer]);
  }
  send({ kind: 'end', bytes, linesHash: hash?.digest('hex') ?? null });
}

read().then(
  () => port.close(),
  (err: Error) => {
    send({ kind: 'error', name: err.name, message: err.message });
    port.close();
  },
);
