-- One row per scan: the decision log of ALGORITHM.md §4 plus hashes (parity audit).
CREATE TABLE IF NOT EXISTS {db}.v7_decision_events
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    scan Int64,
    fired Bool,
    action LowCardinality(String),
    asset LowCardinality(String),
    side LowCardinality(String),
    leverage Float64,
    reason LowCardinality(String),
    bars_held UInt32,
    decision_hash String,
    chain_hash String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (strategy, ts, scan)
-- Merged column by column from the first part, as every ledger table of more than ten
-- columns; small compression and merge blocks, as every ledger table (why:
-- 04_trade_exit_legs.sql).
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
