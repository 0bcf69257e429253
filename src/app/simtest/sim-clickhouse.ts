/**
 * ClickHouse for the fault simulation: an in-memory table store with ClickHouse's
 * insert deduplication (a token seen before inserts nothing), and seeded faults: an
 * outage (every insert refused before anything is stored) and lost acknowledgements
 * (the rows are stored, then the connection drops). The ledger under test cannot
 * tell it from a server; the simulation reads the tables back to check that every
 * row arrived exactly once.
 */
import type { ChClient } from '../../adapters/clickhouse/schema.js';

type Row = Record<string, unknown>;

export class SimClickHouse {
  /** While set, inserts fail as with a server that is down. */
  down = false;
  readonly tables = new Map<string, Row[]>();
  private readonly tokens = new Map<string, Set<string>>();
  inserts = 0;
  refused = 0;
  lostAcks = 0;

  constructor(
    private readonly random: () => number,
    private readonly lostAckRate: number,
  ) {}

  rows(table: string): readonly Row[] {
    return this.tables.get(table) ?? [];
  }

  /** The subset of the client the ledger uses. */
  client(): ChClient {
    const insert = async (params: {
      table: string;
      values: unknown;
      clickhouse_settings?: Record<string, unknown>;
    }) => {
      this.inserts += 1;
      if (this.down) {
        this.refused += 1;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123 (simulated outage)'), {
          code: 'ECONNREFUSED',
        });
      }
      const table = params.table.split('.').at(-1) ?? params.table;
      const token = String(params.clickhouse_settings?.insert_deduplication_token ?? '');
      const seen = this.tokens.get(table) ?? new Set<string>();
      this.tokens.set(table, seen);
      if (!token || !seen.has(token)) {
        if (token) seen.add(token);
        const stored = this.tables.get(table) ?? [];
        this.tables.set(table, stored);
        for (const r of params.values as Row[]) stored.push(r);
      }
      if (this.random() < this.lostAckRate) {
        this.lostAcks += 1;
        throw Object.assign(new Error('socket hang up after the insert (simulated)'), { code: 'ECONNRESET' });
      }
      return { executed: true, query_id: '', summary: undefined, response_headers: {} };
    };
    const unsupported = async () => {
      throw new Error('the simulated ClickHouse only takes inserts');
    };
    return {
      insert,
      query: unsupported,
      command: unsupported,
      ping: async () => ({ success: !this.down }),
      close: async () => {},
    } as unknown as ChClient;
  }
}
