-- Shadow-only exit analysis per open-trade bar: what an adaptive exit would have done.
-- Never acts.
-- Merged column by column (vertical merge, whatever the part's row count): a merge holds
-- one column's read buffers at a time, not every column's of every part. Measured after 3M
-- replayed scans: trade_reconstruction's merges took 262-280 MB of engine memory, 118 MB
-- vertically; trade_exit_legs' ~100 MB (README, Replay memory).
-- Small compression and merge blocks, as every ledger table (why: 04_trade_exit_legs.sql).
CREATE TABLE IF NOT EXISTS {db}.adaptive_exit_shadow
(
    ts DateTime64(3, 'UTC'),
    strategy LowCardinality(String),
    run_id LowCardinality(String),
    event_seq UInt64,
    trade_id String,
    scan Int64,
    asset LowCardinality(String),
    bars_held UInt32,
    price Float64,
    move_bps Float64,
    peak_move_bps Float64,
    shadow_action LowCardinality(String),
    shadow_reason LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (trade_id, ts, event_seq)
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
