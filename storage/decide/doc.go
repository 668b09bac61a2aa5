// Package decide holds every rule of the ledger (docs/ledger.md), once:
// given the records an operation touches, it decides the operation's
// result and the writes that follow. It does no I/O. A storage adapter
// (storage/embedded on bbolt, storage/redisledger on Redis) gives it the
// records through a View and makes the writes its Changes list, in one
// atomic step: the embedded ledger inside a bolt write transaction, the
// Redis ledger with a generic check-and-set script that refuses the whole
// step when a record it read has changed since (the ledger then reads
// again and decides again).
//
//	ops ──▶ Txn.Apply ──reads──▶ View (the adapter's records)
//	           │
//	           └──writes──▶ Changes ──▶ the adapter, atomically
//
// A Txn decides the ops of one account in order; what an op wrote is what
// the next one reads (the Txn keeps its own copy of every record it read
// or wrote), so a batch decides exactly as the same ops one by one.
//
// Exactly once: an op read from a hits log carries the log's id and its
// position (storage.Op.Log, Pos). Each account keeps a high-water mark per
// log, advanced by the same atomic step as the op's effects; an op at or
// below the mark is a replay, answered duplicate/replayed_hit with the
// result its first application had while that is retained (until the
// applier's saved cursor passes it, storage.Op.Kept).
package decide
