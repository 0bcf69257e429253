-- One row per exit leg, per-leg (not cumulative) deltas. Exactly the BLUE-legacy column
-- set (_LEG_COLUMNS of reference_test_pink_multi_exit_groundwork.py); nothing added.
-- Merged column by column (vertical merge, whatever the part's row count): a merge holds
-- one column's read buffers at a time, not every column's of every part. Measured after 3M
-- replayed scans: trade_reconstruction's merges took 262-280 MB of engine memory, 118 MB
-- vertically; trade_exit_legs' ~100 MB; execution_quality's (39 columns, 3 MB of parts)
-- 159 MB (README, Replay memory).
-- Compression blocks of 256 KB (max_compress_block_size, default 1 MB) and merge blocks of
-- 2 MB (merge_max_block_size_bytes, default 10 MB), in every ledger table: a merge holds a
-- read buffer and a decompressed block for each column it reads of each part it merges, so
-- the block size times the parts is most of its memory. trade_reconstruction's largest
-- merge in a 3M-scan replay: 59 -> 38 MB; the replay's peak 525-541 -> 482-489 MB.
CREATE TABLE IF NOT EXISTS {db}.trade_exit_legs
(
    ts DateTime64(3, 'UTC'),
    date Date,
    strategy LowCardinality(String),
    trade_id String,
    chain_root_trade_id String,
    chain_head_leg_id String,
    chain_prev_leg_id String,
    chain_seq UInt32,
    chain_token String,
    chain_mode LowCardinality(String),
    exit_leg_id String,
    exit_seq UInt32,
    command_id String,
    source LowCardinality(String),
    reason LowCardinality(String),
    asset LowCardinality(String),
    side LowCardinality(String),
    entry_price Float64,
    exit_price Float64,
    fraction Float64,
    capital_before Float64,
    capital_after Float64,
    exit_notional Float64,
    remaining_notional Float64,
    remaining_qty Float64,
    pnl_pct_leg Float64,
    pnl_leg Float64,
    pnl_realized_total Float64,
    bars_held UInt32
)
ENGINE = MergeTree
ORDER BY (trade_id, ts, exit_seq)
SETTINGS non_replicated_deduplication_window = 10000, vertical_merge_algorithm_min_rows_to_activate = 1, vertical_merge_algorithm_min_columns_to_activate = 1, max_compress_block_size = 262144, merge_max_block_size_bytes = 2097152;
