package clickhouse

import (
	"context"
	"fmt"
)

// migrate brings the hits table to hitColumns: it creates the table, then
// adds any column a newer release appended to hitColumns (18.16 has no ADD
// COLUMN IF NOT EXISTS, so the columns present are read from
// system.columns). Safe to run at every start and from several processes
// at once (a concurrent ADD COLUMN of the same column fails, and the next
// start finds it there).
func (c *Client) migrate(ctx context.Context) error {
	if err := c.conn.Exec(ctx, HitsDDL); err != nil {
		return fmt.Errorf("cannot create table hits: %w", err)
	}
	have, err := c.columns(ctx, "hits")
	if err != nil {
		return err
	}
	for _, col := range hitColumns {
		if _, ok := have[col.name]; ok {
			continue
		}
		q := fmt.Sprintf("ALTER TABLE hits ADD COLUMN %s %s", quoteIdent(col.name), col.typ)
		if err := c.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("cannot add column hits.%s: %w", col.name, err)
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
