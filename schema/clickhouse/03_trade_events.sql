-- One terminal row per completed trade. ReplacingMergeTree keyed by trade_id: read with
-- FINAL (or argMax) so a re-emitted terminal row never counts twice. Not partitioned, so
-- two copies of a trade always meet in the same partition.
CREATE TABLE IF NOT EXISTS {db}.trade_events
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    trade_id String,
    asset LowCardinality(String),
    side LowCardinality(String),
    entry_ts DateTime64(3, 'UTC'),
    exit_ts DateTime64(3, 'UTC'),
    entry_price Float64,
    exit_price Float64,
    size Float64,
    leverage Float64,
    pnl Float64,
    fees Float64,
    funding Float64,
    net_pnl Float64,
    exit_reason LowCardinality(String),
    bars_held UInt32,
    capital_after Float64,
    legs UInt32
)
ENGINE = ReplacingMergeTree
ORDER BY trade_id
-- Merged column by column from the first part, as every ledger table of more than ten
-- columns; small compression and merge blocks, as every ledger table (why:
-- 04_trade_exit_legs.sql).
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
