package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// On-disk format, version 1 (all integers little-endian).
//
// Segment file "%020d.wal", named by the position of its first record:
//
//	header, 32 bytes:
//	  0  [8]byte  magic "pxpstWAL"
//	  8  uint16   format version (1)
//	 10  uint16   flags (0)
//	 12  uint32   reserved (0)
//	 16  uint64   base position (equals the file name)
//	 24  uint32   reserved (0)
//	 28  uint32   CRC32-C of bytes 0..27
//	frames, back to back, until the end of the file:
//	  0  uint32   CRC32-C of bytes 4..8 and the payload
//	  4  uint32   payload length (at most MaxRecordSize)
//	  8  uint8    frame type: 1 = a whole record, 2 = an erased record
//	              (its payload is zeros; readers skip it)
//	  9  payload
//
// Rewrite changes records of sealed segments in place, keeping every
// frame's size, so that positions (cursors, readers) stay valid: an erased
// record becomes a type 2 frame of the same size, a shortened one is
// followed by zero bytes up to its old size, inside its frame.
//
// A record at position p lives in the segment with the greatest base <= p,
// at file offset segHeaderSize + (p - base). Positions are global byte
// offsets of frames, headers excluded, so a new segment starts at the end
// position of the one before it.
const (
	segMagic        = "pxpstWAL"
	segVersion      = 1
	segHeaderSize   = 32
	segSuffix       = ".wal"
	tmpSuffix       = ".tmp"
	frameHeaderSize = 9
	frameFull       = 1
	frameTypeErased = 2

	// MaxRecordSize is the largest record Append accepts.
	MaxRecordSize = 1 << 20

	// maxBatchBytes bounds one group commit: the frames of one write(2)
	// and the memory of the batch being filled (two such buffers exist).
	// A single Append call may not exceed it. Only the last write can be
	// torn by a crash, so it is also the default torn-tail window.
	maxBatchBytes = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segName(base Pos) string {
	return fmt.Sprintf("%020d%s", uint64(base), segSuffix)
}

func parseSegName(name string) (Pos, bool) {
	if len(name) != 20+len(segSuffix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	v, err := strconv.ParseUint(name[:20], 10, 64)
	if err != nil {
		return 0, false
	}
	return Pos(v), true
}

func encodeSegHeader(base Pos) []byte {
	b := make([]byte, segHeaderSize)
	copy(b, segMagic)
	binary.LittleEndian.PutUint16(b[8:], segVersion)
	binary.LittleEndian.PutUint64(b[16:], uint64(base))
	binary.LittleEndian.PutUint32(b[28:], crc32.Checksum(b[:28], castagnoli))
	return b
}

func decodeSegHeader(b []byte) (Pos, error) {
	if len(b) < segHeaderSize {
		return 0, fmt.Errorf("short segment header (%d bytes)", len(b))
	}
	if string(b[:8]) != segMagic {
		return 0, fmt.Errorf("bad segment magic %q", b[:8])
	}
	if crc32.Checksum(b[:28], castagnoli) != binary.LittleEndian.Uint32(b[28:]) {
		return 0, fmt.Errorf("bad segment header checksum")
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != segVersion {
		return 0, fmt.Errorf("unsupported segment version %d", v)
	}
	return Pos(binary.LittleEndian.Uint64(b[16:])), nil
}

// appendErasedFrame appends an erased frame of size bytes (at least
// frameHeaderSize) to dst.
func appendErasedFrame(dst []byte, size int) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, size)...)
	binary.LittleEndian.PutUint32(dst[n+4:], uint32(size-frameHeaderSize))
	dst[n+8] = frameTypeErased
	crc := crc32.Update(0, castagnoli, dst[n+4:n+size])
	binary.LittleEndian.PutUint32(dst[n:], crc)
	return dst
}

// RecordSpan is how far a record of n bytes moves the log's position. The
// records of one Append lie one after the other, so the position after
// each follows from the one Append returns.
func RecordSpan(n int) Pos { return Pos(frameHeaderSize + n) }

// appendFrame appends the frame of rec to dst.
func appendFrame(dst, rec []byte) []byte {
	n := len(dst)
	if cap(dst)-n < frameHeaderSize+len(rec) {
		grown := make([]byte, n, 2*cap(dst)+frameHeaderSize+len(rec))
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:n+frameHeaderSize]
	binary.LittleEndian.PutUint32(dst[n+4:], uint32(len(rec)))
	dst[n+8] = frameFull
	crc := crc32.Update(0, castagnoli, dst[n+4:n+frameHeaderSize])
	crc = crc32.Update(crc, castagnoli, rec)
	binary.LittleEndian.PutUint32(dst[n:], crc)
	return append(dst, rec...)
}

type frameStatus uint8

const (
	frameOK     frameStatus = iota
	frameShort              // b holds a plausible frame prefix; size is the length needed
	frameBad                // not a frame: bad type, length or checksum
	frameErased             // a valid frame of an erased record: no record
)

// decodeFrame reads the frame at the start of b. rec aliases b.
func decodeFrame(b []byte) (rec []byte, size int, st frameStatus) {
	if len(b) < frameHeaderSize {
		return nil, frameHeaderSize, frameShort
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if (b[8] != frameFull && b[8] != frameTypeErased) || n > MaxRecordSize {
		return nil, 0, frameBad
	}
	size = frameHeaderSize + int(n)
	if len(b) < size {
		return nil, size, frameShort
	}
	crc := crc32.Update(0, castagnoli, b[4:frameHeaderSize])
	crc = crc32.Update(crc, castagnoli, b[frameHeaderSize:size])
	if crc != binary.LittleEndian.Uint32(b[:4]) {
		return nil, size, frameBad
	}
	if b[8] == frameTypeErased {
		return nil, size, frameErased
	}
	return b[frameHeaderSize:size], size, frameOK
}
