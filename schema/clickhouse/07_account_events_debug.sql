-- Debug mode (DESIGN.md §7): every account snapshot, unfiltered, kept apart from
-- account_events so the audited table keeps its volume budget. Same columns.
CREATE TABLE IF NOT EXISTS {db}.account_events_debug
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    capital Float64,
    equity Float64,
    open_notional Float64,
    leverage Float64,
    open_positions UInt32,
    position_qty Float64,
    avg_entry_price Float64,
    mark_price Float64,
    realized_pnl Float64,
    unrealized_pnl Float64,
    fees Float64,
    funding Float64,
    adjustments Float64,
    fingerprint String,
    cause LowCardinality(String),
    write_reason String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (strategy, ts, event_seq)
-- Merged column by column from the first part, as every ledger table of more than ten
-- columns; small compression and merge blocks, as every ledger table (why:
-- 04_trade_exit_legs.sql).
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
