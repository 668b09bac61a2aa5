package clickhouse

import (
	"context"
	"fmt"
)

// The tables of a repartitioning (Repartition): the hits table of an older
// release is renamed to oldHitsTable, copied month by month into
// newHitsTable, which then becomes hits. oldHitsTable is kept for the
// operator to check and drop.
const (
	oldHitsTable = "hits_by_month"
	newHitsTable = "hits_by_day"
)

// autoRepartitionRows is the largest old-layout hits table that migrate
// repartitions at start-up: a copy of a few seconds (18.16 copies about a
// million rows a second here). A larger one keeps working as it is until
// the operator runs Repartition (pixelpost clickhouse-repartition).
const autoRepartitionRows = 1_000_000

// migrate brings the hits table to hitColumns and hitsPartition: it creates
// the table, adds any column a newer release appended to hitColumns (18.16
// has no ADD COLUMN IF NOT EXISTS, so the columns present are read from
// system.columns), and repartitions a table of an older release by day
// when it is small (autoRepartitionRows; else RepartitionPending says so).
// Safe to run at every start and from several processes at once (a
// concurrent ADD COLUMN of the same column fails, and the next start finds
// it there; concurrent repartitionings are, see Repartition).
func (c *Client) migrate(ctx context.Context) error {
	st, err := c.hitsLayout(ctx)
	if err != nil {
		return err
	}
	if st.needsRepartition() {
		rows := st.oldRows
		if st.hits != "" {
			// A table of an older release: usable as it is, with the
			// columns of this one.
			if err := c.addColumns(ctx, "hits"); err != nil {
				return err
			}
			if rows, err = c.count(ctx, "hits"); err != nil {
				return err
			}
		}
		if rows > autoRepartitionRows {
			// Too long for a start-up. Without hits (a repartitioning
			// under way elsewhere, or interrupted) inserts fail and their
			// rows wait in the rows log until it is done.
			c.repartitionPending = true
			return nil
		}
		return c.Repartition(ctx, nil)
	}
	if err := c.conn.Exec(ctx, HitsDDL); err != nil {
		return fmt.Errorf("cannot create table hits: %w", err)
	}
	return c.addColumns(ctx, "hits")
}

// RepartitionPending reports a hits table of an older release (partitioned
// by month) that was too large to repartition at start-up, or a
// repartitioning interrupted: run Repartition. Reports and inserts work on
// the old layout meanwhile, and during the repartitioning inserts wait.
func (c *Client) RepartitionPending() bool { return c.repartitionPending }

// hitsState is what the database holds of the hits tables: each table's
// partition key, "" when the table does not exist.
type hitsState struct {
	hits, old, fresh string
	oldRows          uint64 // rows of oldHitsTable, if it exists
}

// needsRepartition: hits is of an older layout, or a repartitioning was
// left half-way (hits renamed away, not yet replaced).
func (s hitsState) needsRepartition() bool {
	return (s.hits != "" && s.hits != hitsPartition) || (s.hits == "" && s.old != "")
}

func (c *Client) hitsLayout(ctx context.Context) (hitsState, error) {
	var st hitsState
	rows, err := c.conn.Query(ctx, "SELECT name, partition_key FROM system.tables WHERE database = ? AND name IN (?, ?, ?)",
		c.db, "hits", oldHitsTable, newHitsTable)
	if err != nil {
		return st, fmt.Errorf("cannot read the layout of table hits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, key string
		if err := rows.Scan(&name, &key); err != nil {
			return st, fmt.Errorf("cannot read the layout of table hits: %w", err)
		}
		if key == "" {
			key = "tuple()" // exists, unpartitioned
		}
		switch name {
		case "hits":
			st.hits = key
		case oldHitsTable:
			st.old = key
		case newHitsTable:
			st.fresh = key
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("cannot read the layout of table hits: %w", err)
	}
	if st.old != "" {
		if st.oldRows, err = c.count(ctx, oldHitsTable); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Repartition moves a hits table of an older release, partitioned by month,
// to the layout of HitsDDL, partitioned by day (18.16 cannot change a
// partition key in place):
//
//  1. hits gets this release's columns, the table hits_by_day is created
//     with HitsDDL's layout, and hits is renamed hits_by_month. From then
//     on inserts fail (the shippers retry them; rows wait in the rows
//     logs) and reports fail, until step 3;
//  2. every month of hits_by_month is copied into hits_by_day, one
//     INSERT ... SELECT a month (ClickHouse streams it: memory stays
//     bounded), progress called after each;
//  3. hits_by_day is renamed hits.
//
// hits_by_month is kept: check the new table, then DROP TABLE it.
//
// It is idempotent and resumable: each step is chosen from the tables
// present, so a run interrupted at any point (a crash, a kill, ctx) is
// completed by the next one, and a month already copied as many rows as
// the old table has is not copied again. A month copied in part is
// copied again: its rows are then stored twice, which FINAL and the
// table's merges dedupe (as a re-sent batch). Several processes running
// it at once end in the same state. Nothing to do on a table already
// partitioned by day, or without a hits table.
//
// A process of an older release started during steps 1–2 creates a new
// monthly hits table; Repartition then stops with an error saying how to
// fold it in.
func (c *Client) Repartition(ctx context.Context, progress func(month uint32, rows uint64)) error {
	// Each pass does one step; a step that fails because another process
	// did it meanwhile is followed by a pass that sees the new state.
	var lastErr error
	for range 8 {
		st, err := c.hitsLayout(ctx)
		if err != nil {
			return err
		}
		if !st.needsRepartition() {
			if st.hits == hitsPartition && st.fresh != "" {
				// A copy another process made while this one finished:
				// its RENAME fails, the table is no one's.
				if err := c.conn.Exec(ctx, "DROP TABLE IF EXISTS "+newHitsTable); err != nil {
					return fmt.Errorf("cannot drop the leftover table %s: %w", newHitsTable, err)
				}
			}
			return nil
		}
		if st.hits != "" && st.old != "" {
			return fmt.Errorf("cannot repartition table hits: both hits and %[1]s exist, a process of an older release recreated hits during a repartitioning; stop it, then run INSERT INTO %[1]s SELECT * FROM hits, DROP TABLE hits, and repartition again", oldHitsTable)
		}
		if st.hits != "" {
			err = c.repartitionStart(ctx)
		} else {
			err = c.repartitionCopy(ctx, progress)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			lastErr = err
		}
	}
	return fmt.Errorf("cannot repartition table hits: %w", lastErr)
}

// repartitionStart is step 1 of Repartition.
func (c *Client) repartitionStart(ctx context.Context) error {
	if err := c.addColumns(ctx, "hits"); err != nil {
		return err
	}
	if err := c.conn.Exec(ctx, hitsDDL(newHitsTable)); err != nil {
		return fmt.Errorf("cannot create table %s: %w", newHitsTable, err)
	}
	if err := c.conn.Exec(ctx, "RENAME TABLE hits TO "+oldHitsTable); err != nil {
		return fmt.Errorf("cannot rename table hits to %s: %w", oldHitsTable, err)
	}
	return nil
}

// repartitionCopy is steps 2 and 3 of Repartition.
func (c *Client) repartitionCopy(ctx context.Context, progress func(month uint32, rows uint64)) error {
	if err := c.conn.Exec(ctx, hitsDDL(newHitsTable)); err != nil {
		return fmt.Errorf("cannot create table %s: %w", newHitsTable, err)
	}
	for _, t := range []string{oldHitsTable, newHitsTable} {
		if err := c.addColumns(ctx, t); err != nil {
			return err
		}
	}
	months, err := c.months(ctx, oldHitsTable)
	if err != nil {
		return err
	}
	cols := columnNames()
	for _, m := range months {
		month := fmt.Sprintf("toYYYYMM(ts) = %d", m)
		want, err := c.count(ctx, oldHitsTable, month)
		if err != nil {
			return err
		}
		have, err := c.count(ctx, newHitsTable, month)
		if err != nil {
			return err
		}
		if have < want {
			q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s WHERE %s", newHitsTable, cols, cols, oldHitsTable, month)
			if err := c.conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("cannot copy month %d of %s: %w", m, oldHitsTable, err)
			}
		}
		if progress != nil {
			progress(m, want)
		}
	}
	if err := c.conn.Exec(ctx, "RENAME TABLE "+newHitsTable+" TO hits"); err != nil {
		return fmt.Errorf("cannot rename table %s to hits: %w", newHitsTable, err)
	}
	return nil
}

// months lists the months (YYYYMM) a table has rows of, in order.
func (c *Client) months(ctx context.Context, table string) ([]uint32, error) {
	rows, err := c.conn.Query(ctx, "SELECT DISTINCT toYYYYMM(ts) AS m FROM "+table+" ORDER BY m")
	if err != nil {
		return nil, fmt.Errorf("cannot list the months of %s: %w", table, err)
	}
	defer rows.Close()
	var months []uint32
	for rows.Next() {
		var m uint32
		if err := rows.Scan(&m); err != nil {
			return nil, fmt.Errorf("cannot list the months of %s: %w", table, err)
		}
		months = append(months, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list the months of %s: %w", table, err)
	}
	return months, nil
}

// count is the number of rows (copies included) of a table, or of those
// matching where.
func (c *Client) count(ctx context.Context, table string, where ...string) (uint64, error) {
	q := "SELECT count() FROM " + table
	if len(where) > 0 {
		q += " WHERE " + where[0]
	}
	var n uint64
	if err := c.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("cannot count the rows of %s: %w", table, err)
	}
	return n, nil
}

// addColumns adds to a table of hits the columns of hitColumns it lacks.
func (c *Client) addColumns(ctx context.Context, table string) error {
	have, err := c.columns(ctx, table)
	if err != nil {
		return err
	}
	for _, col := range hitColumns {
		if _, ok := have[col.name]; ok {
			continue
		}
		q := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", table, quoteIdent(col.name), col.typ)
		if err := c.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("cannot add column %s.%s: %w", table, col.name, err)
		}
	}
	return nil
}

// columns returns the column names and types of a table of the database.
func (c *Client) columns(ctx context.Context, table string) (map[string]string, error) {
	rows, err := c.conn.Query(ctx,
		"SELECT name, type FROM system.columns WHERE database = ? AND table = ?", c.db, table)
	if err != nil {
		return nil, fmt.Errorf("cannot list columns of %s: %w", table, err)
	}
	defer rows.Close()
	cols := make(map[string]string)
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("cannot list columns of %s: %w", table, err)
		}
		cols[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list columns of %s: %w", table, err)
	}
	return cols, nil
}
