package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/server"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
	"github.com/pixelpost/pixelpost/storage/pipeline"
	"github.com/pixelpost/pixelpost/storage/reconcile"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// importWAL loads this node's rows log (the raw-hit archive of the
// embedded default) into ClickHouse, leaving out the rows of people erased
// since (the ledger's tombstones). Run it with the server stopped; run it
// twice and the reports still count each hit once (rows carry hit_id).
func importWAL(ctx context.Context, cfg server.Config) error {
	if cfg.ClickHouseDSN == "" {
		return fmt.Errorf("import-wal needs --clickhouse-dsn")
	}
	ledger, err := server.OpenLedger(ctx, cfg, zerolog.Nop())
	if err != nil {
		return err
	}
	defer ledger.Close()
	rows, err := openRows(cfg)
	if err != nil {
		return err
	}
	defer rows.Close()
	ch, err := openClickHouse(ctx, cfg)
	if err != nil {
		return err
	}
	defer ch.Close()
	leave, leaveErr := erasedRows(ctx, ledger)
	st, err := clickhouse.ImportAll(ctx, clickhouse.ShipperDeps{Log: rows, Client: ch, Logger: zerolog.Nop(), Leave: leave}, 0)
	fmt.Printf("imported %d rows into %s (%d of erased people left out, %d undecodable, %d damaged regions skipped)\n",
		st.Shipped, ch.Database(), st.Left, st.BadRecords, st.Corrupt)
	if err == nil && *leaveErr != nil {
		err = fmt.Errorf("cannot read erasures (the rows they concern were left out: run import-wal again): %w", *leaveErr)
	}
	return err
}

// clickhouseRepartition partitions the hits table of an older release by
// day (clickhouse.Client.Repartition), saying what it copies. It can run
// while servers ship: their inserts wait (and retry) until it is done.
func clickhouseRepartition(ctx context.Context, out io.Writer, cfg server.Config) error {
	if cfg.ClickHouseDSN == "" {
		return fmt.Errorf("clickhouse-repartition needs --clickhouse-dsn")
	}
	if cfg.ClickHouseCluster != "" {
		return fmt.Errorf("clickhouse-repartition moves the table of one server, not a cluster's hits_local tables")
	}
	ch, err := openClickHouse(ctx, cfg)
	if err != nil {
		return err
	}
	defer ch.Close()
	err = ch.Repartition(ctx, func(month uint32, rows uint64) {
		fmt.Fprintf(out, "month %d-%02d: %d rows\n", month/100, month%100, rows)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "table hits of %s is partitioned by day; the table hits_by_month, if any, is what it was: "+
		"check the new one, then DROP TABLE %s.hits_by_month\n", ch.Database(), ch.Database())
	return nil
}

// erasedRows tells the rows of erased people, from the ledger's
// tombstones. When the ledger cannot say, the row is left out (never
// bring back an erased person) and the error kept for the caller.
func erasedRows(ctx context.Context, ledger storage.Ledger) (func(*storage.Hit) bool, *error) {
	tombs := storage.NewTombstones(ledger)
	var first error
	return func(h *storage.Hit) bool {
		erased, err := tombs.Erased(ctx, h)
		if err != nil && first == nil {
			first = err
		}
		return erased || err != nil
	}, &first
}

func openRows(cfg server.Config) (*wal.Log, error) {
	dir := pipeline.RowsDir(cfg.WALDir())
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no rows log in %s: %w", dir, err)
	}
	l, err := wal.Open(wal.Options{Dir: dir, MaxBytes: cfg.WALMaxBytes})
	if err != nil {
		return nil, fmt.Errorf("cannot open rows log (is the server still running?): %w", err)
	}
	return l, nil
}

type ddlOptions struct {
	cluster    string
	replicated bool
}

// parse takes clickhouse-ddl's own flags out of args, leaving the server's.
func (o *ddlOptions) parse(args []string) ([]string, error) {
	return takeFlags(args, map[string]*bool{"replicated": &o.replicated}, map[string]*string{"cluster": &o.cluster}), nil
}

// takeFlags takes a subcommand's own flags out of args (-name or --name;
// a string as "--name value" or "--name=value") and returns the rest, the
// server's flags, in their order.
func takeFlags(args []string, bools map[string]*bool, strs map[string]*string) []string {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		name, value, hasValue := strings.Cut(a, "=")
		if b, ok := bools[a]; ok {
			*b = true
			continue
		}
		if p, ok := strs[name]; ok {
			switch {
			case hasValue:
				*p = value
				continue
			case i+1 < len(args):
				*p = args[i+1]
				i++
				continue
			}
		}
		rest = append(rest, args[i])
	}
	return rest
}

// clickhouseDDL prints the statements that create the hits tables of a
// ClickHouse cluster (clickhouse.ClusterDDL) in the database of
// --clickhouse-dsn ("default" without one), and on stderr where to run
// them. --cluster defaults to --clickhouse-cluster.
func clickhouseDDL(stdout, stderr io.Writer, cfg server.Config, o ddlOptions) error {
	if o.cluster == "" {
		o.cluster = cfg.ClickHouseCluster
	}
	if o.cluster == "" {
		return fmt.Errorf("clickhouse-ddl needs --cluster NAME (the cluster in the servers' remote_servers)")
	}
	if err := clickhouse.ValidCluster(o.cluster); err != nil {
		return err
	}
	db := "default"
	if cfg.ClickHouseDSN != "" {
		var err error
		if db, err = clickhouse.DSNDatabase(cfg.ClickHouseDSN); err != nil {
			return err
		}
	}
	if o.replicated {
		fmt.Fprintf(stderr, "-- run once, on any server of %s (ON CLUSTER: needs ZooKeeper and the shard and replica macros), e.g. clickhouse-client --multiquery < this file\n", o.cluster)
	} else {
		fmt.Fprintf(stderr, "-- run on every server of %s, e.g. clickhouse-client --host SERVER --multiquery < this file\n", o.cluster)
	}
	_, err := io.WriteString(stdout, clickhouse.ClusterScript(db, o.cluster, o.replicated))
	return err
}

type reconcileOptions struct {
	repair bool
	source string // "wal", "clickhouse" or "" (clickhouse when configured)
	json   bool
}

// parse takes reconcile's own flags out of args, leaving the server's.
func (o *reconcileOptions) parse(args []string) ([]string, error) {
	rest := takeFlags(args, map[string]*bool{"repair": &o.repair, "json": &o.json}, map[string]*string{"source": &o.source})
	switch o.source {
	case "", "wal", "clickhouse":
		return rest, nil
	}
	return nil, fmt.Errorf("--source %q: want wal or clickhouse", o.source)
}

// errDifferences: the ledger and the raw hits disagree (exit status 2).
type errDifferences int

func (e errDifferences) Error() string {
	return fmt.Sprintf("%d differences between the ledger and the raw hits", int(e))
}

// reconcileCmd rebuilds the ledger totals from the raw hits, prints every
// difference from the live ledger and, with --repair, fixes them.
func reconcileCmd(ctx context.Context, cfg server.Config, o reconcileOptions, log zerolog.Logger) error {
	ledger, err := server.OpenLedger(ctx, cfg, zerolog.Nop())
	if err != nil {
		return err
	}
	defer ledger.Close()
	var src reconcile.Source
	if o.source == "clickhouse" || (o.source == "" && cfg.ClickHouseDSN != "") {
		if cfg.ClickHouseDSN == "" {
			return fmt.Errorf("--source clickhouse needs --clickhouse-dsn")
		}
		ch, err := openClickHouse(ctx, cfg)
		if err != nil {
			return err
		}
		defer ch.Close()
		src = func(ctx context.Context, fn func(h *storage.Hit) error) error {
			return ch.Rows(ctx, "", func(h storage.Hit) error { return fn(&h) })
		}
	} else {
		rows, err := openRows(cfg)
		if err != nil {
			return err
		}
		defer rows.Close()
		// The archive still holds erased people's rows: the fold leaves
		// them out, as the ledger did.
		leave, leaveErr := erasedRows(ctx, ledger)
		all := reconcile.FromWAL(rows, nil)
		src = func(ctx context.Context, fn func(h *storage.Hit) error) error {
			return all(ctx, func(h *storage.Hit) error {
				if leave(h) {
					return *leaveErr // nil: an erased person's row, left out
				}
				return fn(h)
			})
		}
	}
	rep, err := reconcile.Run(ctx, src, ledger, reconcile.Options{Repair: o.repair})
	if err != nil {
		return err
	}
	if o.json {
		_ = json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		printReport(rep)
	}
	switch {
	case rep.Repaired && len(rep.Remaining) > 0:
		return errDifferences(len(rep.Remaining))
	case !rep.Repaired && len(rep.Differences) > 0:
		return errDifferences(len(rep.Differences))
	}
	return nil
}

func printReport(rep reconcile.Report) {
	fmt.Printf("folded %d raw hits of %d accounts: %d differences\n", rep.Hits, rep.Accounts, len(rep.Differences))
	for _, d := range rep.Differences {
		fmt.Println("  " + d.String())
	}
	if rep.Repaired {
		fmt.Printf("repair: %d hits the ledger had lost were applied again (%d too old to replay); %d differences remain\n",
			rep.Reapplied, rep.TooOld, len(rep.Remaining))
		for _, d := range rep.Remaining {
			fmt.Println("  " + d.String())
		}
	}
}
