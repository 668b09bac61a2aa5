package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ErrNoAttendee: DeleteAttendee was given nothing that names an attendee.
var ErrNoAttendee = errors.New("no attendee to delete")

// mutationPoll is how often DeleteAttendee checks that its mutation is done.
const mutationPoll = 50 * time.Millisecond

// DeleteAttendee erases an attendee's rows from the hits table (GDPR): the
// rows of account whose email_sha256 is emailSHA256 (if not empty) or whose
// attendee_id is one of attendeeIDs (cookie-only hits carry no email).
// It runs ALTER TABLE ... DELETE, a mutation (ClickHouse 1.1.54388 and
// later; 18.16 has them), on every shard of a cluster, and waits until the
// table's mutations are done or ctx ends (see mutate). Rows of the
// attendee still in the rows WAL and shipped later are not covered: erase
// the attendee from the ledger first, so no new rows name it.
func (c *Client) DeleteAttendee(ctx context.Context, account, emailSHA256 string, attendeeIDs ...string) error {
	where, args, err := attendeeWhere(account, emailSHA256, attendeeIDs)
	if err != nil {
		return err
	}
	if err := c.mutate(ctx, "DELETE WHERE "+where, args); err != nil {
		return fmt.Errorf("cannot delete attendee rows: %w", err)
	}
	return nil
}

// attendeeWhere selects the rows of an attendee of account: by email hash
// (if not empty) or attendee id.
func attendeeWhere(account, emailSHA256 string, attendeeIDs []string) (string, []any, error) {
	var ids []string
	for _, id := range attendeeIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if account == "" || (emailSHA256 == "" && len(ids) == 0) {
		return "", nil, ErrNoAttendee
	}
	where, args := "", []any{account}
	switch {
	case emailSHA256 != "" && len(ids) > 0:
		where, args = "(email_sha256 = ? OR has(?, attendee_id))", append(args, emailSHA256, ids)
	case emailSHA256 != "":
		where, args = "email_sha256 = ?", append(args, emailSHA256)
	default:
		where, args = "has(?, attendee_id)", append(args, ids)
	}
	// The driver binds a slice as an array literal; 18.16 cannot mutate
	// with "IN [...]", hence has().
	return "account = ? AND " + where, args, nil
}

// mutate runs ALTER TABLE ... action (a DELETE or UPDATE mutation) on the
// hits table, or on hits_local of every server of a cluster, and waits
// until it is done or ctx ends; after ctx ends the mutation still
// completes in the background.
func (c *Client) mutate(ctx context.Context, action string, args []any) error {
	if c.cluster != "" {
		return c.mutateOnShards(ctx, action, args)
	}
	if err := c.conn.Exec(ctx, "ALTER TABLE hits "+action, args...); err != nil {
		return err
	}
	return waitMutations(ctx, c.conn, c.db, "hits")
}

// mutateOnShards runs the mutation on hits_local on every server of the
// cluster: a Distributed table takes no mutation, and ON CLUSTER needs
// ZooKeeper. The servers are those of system.clusters, reached with the
// Client's credentials. A replicated shard gets it once per replica, which
// changes nothing twice.
func (c *Client) mutateOnShards(ctx context.Context, action string, args []any) error {
	rows, err := c.conn.Query(ctx, "SELECT host_address, port FROM system.clusters WHERE cluster = ?", c.cluster)
	if err != nil {
		return fmt.Errorf("cannot list the servers of cluster %s: %w", c.cluster, err)
	}
	var addrs []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			rows.Close()
			return fmt.Errorf("cannot list the servers of cluster %s: %w", c.cluster, err)
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot list the servers of cluster %s: %w", c.cluster, err)
	}
	for _, addr := range addrs {
		opts := *c.opts
		opts.Addr = []string{addr}
		conn, err := ch.Open(&opts)
		if err != nil {
			return fmt.Errorf("on %s: %w", addr, err)
		}
		err = conn.Exec(ctx, "ALTER TABLE hits_local "+action, args...)
		if err == nil {
			err = waitMutations(ctx, conn, c.db, "hits_local")
		}
		conn.Close()
		if err != nil {
			return fmt.Errorf("on %s: %w", addr, err)
		}
	}
	return nil
}

// waitMutations waits until no mutation of db.table is pending. 18.16 has
// no mutations_sync setting, so it polls system.mutations.
func waitMutations(ctx context.Context, conn driver.Conn, db, table string) error {
	t := time.NewTicker(mutationPoll)
	defer t.Stop()
	for {
		var pending uint64
		row := conn.QueryRow(ctx,
			"SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0", db, table)
		if err := row.Scan(&pending); err != nil {
			return fmt.Errorf("cannot check mutations: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mutation still running: %w", ctx.Err())
		case <-t.C:
		}
	}
}
