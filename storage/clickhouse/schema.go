package clickhouse

import (
	"fmt"
	"strings"
)

// column is one column of the hits table, in table order. The insert, the
// row scan and the migrations all read this list, so they cannot drift.
type column struct {
	name, typ string
}

// hitColumns is the hits table (SPEC §8). version is not a hit field: it
// orders copies of one hit for ReplacingMergeTree (see versionOf).
var hitColumns = [...]column{
	{"hit_id", "String"},
	{"ts", "DateTime"},
	{"ts_ms", "UInt64"},
	{"account", "String"},
	{"kind", "String"},
	{"status", "String"},
	{"reason", "String"},
	{"webinar_ids", "Array(String)"},
	{"tag", "String"},
	{"order_id", "String"},
	{"amount", "Int64"},
	{"delta", "Int64"},
	{"currency", "String"},
	{"attendee_id", "String"},
	{"email_sha256", "String"},
	{"click_id", "String"},
	{"campaign_id", "String"},
	{"ip", "String"},
	{"user_agent", "String"},
	{"referer", "String"},
	{"query", "String"},
	{"order_key", "String"},
	{"has_amount", "UInt8"},
	{"product_id", "String"},
	{"product_name", "String"},
	{"source", "String"},
	// S2S (clicks and postbacks). Macros are two parallel arrays sorted by
	// key (18.16 has no Map): macro_values[indexOf(macro_keys, 'zone_id')].
	{"macro_keys", "Array(String)"},
	{"macro_values", "Array(String)"},
	{"cost", "Int64"},
	{"source_id", "String"},
	{"network_id", "String"},
	{"goal", "String"},
	{"txid", "String"},
	{"conv_status", "String"},
	{"raw_status", "String"},
	{"version", "UInt8"},
}

// hitsPartition is the partitioning key of the hits table, as
// system.tables.partition_key spells it.
//
// One partition a day: parts never span days, so the background merges
// that follow each insert only ever rewrite the current day, never the
// month's history. On 18.16 with a table already holding 1 M rows, merges
// of large parts made each inserted row cost 12.6 µs of ClickHouse CPU
// with monthly partitions and 10k-row inserts every second (issue 14's
// study; bench/results/ has the figures with daily partitions and
// 50k-row inserts). FINAL and mutations (DeleteAttendee) also touch only
// the days a query or an erasure names. Partitions older than a release
// are moved by Repartition.
const hitsPartition = "toYYYYMMDD(ts)"

// hitsKey is the partitioning and sorting of the hits table, on one
// server and on every shard of a cluster.
//
// ORDER BY (account, ts, hit_id): reports filter on one account and a
// time range, which the primary key (account, ts) serves directly; hit_id
// last makes the key unique per hit, as ReplacingMergeTree needs.
const hitsKey = "PARTITION BY " + hitsPartition + "\nORDER BY (account, ts, hit_id)"

// HitsDDL creates the hits table on a single server. It runs on ClickHouse
// 18.16 and on current releases, which is why it uses no LowCardinality,
// DateTime64, Map, TTL or codecs.
//
// Dedupe: a hit can reach the table more than once (the shipper re-sends a
// batch whose insert outcome it did not see, a crash replays the WAL, an
// import is run twice). All copies share hit_id and therefore ts and
// account, so they share the sorting key and ReplacingMergeTree keeps one
// of them per key: the one with the highest version, which is 1 for every
// row except the degraded "duplicate / replayed_hit" copy a crash replay
// writes for a hit whose original row may already be there (version 0), so
// the original wins whatever the order of arrival.
//
// Merges happen in the background, at an unknown time, so every report
// reads with FINAL, which merges at query time. On 18.16 that is the only
// per-query dedupe ReplacingMergeTree offers; the alternative, GROUP BY
// hit_id with argMax(col, version) for every column, costs as much, must be
// rewritten for each query and is easy to get wrong, and through a
// Distributed table it would bring every hit id of the range to the node
// that asked. FINAL's cost is bounded by the partition and primary-key
// filters every report applies.
var HitsDDL = hitsDDL("hits")

// hitsDDL creates a table of HitsDDL's layout under another name (the
// repartitioning fills one before it becomes hits).
func hitsDDL(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table + " " + columnsDDL() +
		"\nENGINE = ReplacingMergeTree(version)\n" + hitsKey
}

// columnsDDL is the column list of a CREATE TABLE, from hitColumns.
func columnsDDL() string {
	cols := make([]string, len(hitColumns))
	for i, c := range hitColumns {
		cols[i] = c.name + " " + c.typ
	}
	return "(\n    " + strings.Join(cols, ",\n    ") + "\n)"
}

// ClusterDDL returns the statements that create the hits tables of a
// ClickHouse cluster (SPEC §4) in database, in the order to run them: each
// shard keeps its rows in hits_local, with the columns, key and dedupe of
// HitsDDL, and hits is a Distributed table over them, which pixelpost
// inserts into and reports from (Config.Cluster).
//
// The sharding key is cityHash64(hit_id): every copy of a hit lands on the
// same shard, where FINAL merges it with the others (FINAL through a
// Distributed table runs on each shard; copies on different shards would
// never meet).
//
// Without replicated, hits_local is a ReplacingMergeTree and the
// statements have no ON CLUSTER (which needs ZooKeeper): run them on every
// server of the cluster. With replicated, hits_local is a
// ReplicatedReplacingMergeTree (replicas of a shard also drop identical
// insert blocks by checksum) under /clickhouse/tables/{shard}/DATABASE/,
// {shard} and {replica} being the servers' <macros>, and every statement
// is ON CLUSTER: run them once, on any server (ZooKeeper is there, since
// replication needs it). A column added by a later release must be added
// to hits_local on every shard, then to hits (Connect reports it missing);
// DeleteAttendee mutates hits_local on every server itself.
func ClusterDDL(database, cluster string, replicated bool) []string {
	onCluster, engine := "", "ReplacingMergeTree(version)"
	if replicated {
		onCluster = " ON CLUSTER " + quoteIdent(cluster)
		engine = "ReplicatedReplacingMergeTree(" +
			quoteString("/clickhouse/tables/{shard}/"+database+"/hits_local") + ", '{replica}', version)"
	}
	db := quoteIdent(database)
	return []string{
		"CREATE DATABASE IF NOT EXISTS " + db + onCluster,
		"CREATE TABLE IF NOT EXISTS " + db + ".hits_local" + onCluster + " " + columnsDDL() +
			"\nENGINE = " + engine + "\n" + hitsKey,
		"CREATE TABLE IF NOT EXISTS " + db + ".hits" + onCluster + " AS " + db + ".hits_local" +
			"\nENGINE = Distributed(" + quoteString(cluster) + ", " + quoteString(database) + ", 'hits_local', cityHash64(hit_id))",
	}
}

// ClusterScript is ClusterDDL as a script for clickhouse-client
// --multiquery: the statements, each ended by a semicolon.
func ClusterScript(database, cluster string, replicated bool) string {
	return strings.Join(ClusterDDL(database, cluster, replicated), ";\n\n") + ";\n"
}

// quoteString quotes a ClickHouse string literal.
func quoteString(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}

// quoteIdent quotes a ClickHouse identifier with backticks.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

// validDatabase restricts database names to what needs no thought when
// quoted: letters, digits and underscores.
func validDatabase(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("invalid clickhouse database %q: 1 to 64 characters", name)
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("invalid clickhouse database %q: letters, digits and _ only", name)
		}
	}
	return nil
}
