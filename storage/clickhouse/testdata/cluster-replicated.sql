CREATE DATABASE IF NOT EXISTS `pixelpost` ON CLUSTER `pp_cluster`;

CREATE TABLE IF NOT EXISTS `pixelpost`.hits_local ON CLUSTER `pp_cluster` (
    hit_id String,
    ts DateTime,
    ts_ms UInt64,
    account String,
    kind String,
    status String,
    reason String,
    webinar_ids Array(String),
    tag String,
    order_id String,
    amount Int64,
    delta Int64,
    currency String,
    attendee_id String,
    email_sha256 String,
    click_id String,
    campaign_id String,
    ip String,
    user_agent String,
    referer String,
    query String,
    order_key String,
    has_amount UInt8,
    product_id String,
    product_name String,
    source String,
    macro_keys Array(String),
    macro_values Array(String),
    cost Int64,
    source_id String,
    network_id String,
    goal String,
    txid String,
    conv_status String,
    raw_status String,
    version UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/pixelpost/hits_local', '{replica}', version)
PARTITION BY toYYYYMMDD(ts)
ORDER BY (account, ts, hit_id);

CREATE TABLE IF NOT EXISTS `pixelpost`.hits ON CLUSTER `pp_cluster` AS `pixelpost`.hits_local
ENGINE = Distributed('pp_cluster', 'pixelpost', 'hits_local', cityHash64(hit_id));
