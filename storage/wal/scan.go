package wal

import (
	"io"
	"os"
)

const readBufSize = 256 << 10

// frameReader reads frames of one segment file sequentially through a
// buffer, never past a limit the caller gives (the durable end or the size
// of the file). Records it returns alias its buffer.
type frameReader struct {
	f    *os.File
	buf  []byte
	r, w int   // unread bytes are buf[r:w]
	off  int64 // file offset of buf[r]
}

func (fr *frameReader) reset(f *os.File, off int64) {
	fr.f, fr.off, fr.r, fr.w = f, off, 0, 0
}

// next returns the frame at fr.off if it ends at or before limit: a
// record (frameOK) or an erased one (frameErased, no record). At limit it
// returns io.EOF; for a frame that is bad or crosses limit it returns
// frameBad, with fr.off left at the start of that frame.
func (fr *frameReader) next(limit int64) (rec []byte, st frameStatus, err error) {
	for {
		if fr.off >= limit {
			return nil, frameOK, io.EOF
		}
		b := fr.buf[fr.r:fr.w]
		if rem := limit - fr.off; int64(len(b)) > rem {
			b = b[:rem]
		}
		rec, size, st := decodeFrame(b)
		switch st {
		case frameOK, frameErased:
			fr.r += size
			fr.off += int64(size)
			return rec, st, nil
		case frameBad:
			return nil, frameBad, nil
		}
		if fr.off+int64(size) > limit {
			return nil, frameBad, nil
		}
		if err := fr.fill(size, limit); err != nil {
			return nil, frameOK, err
		}
	}
}

// fill makes at least need bytes available at buf[r:], reading no further
// than limit.
func (fr *frameReader) fill(need int, limit int64) error {
	if len(fr.buf) < need || fr.buf == nil {
		nb := make([]byte, max(need, readBufSize))
		fr.w = copy(nb, fr.buf[fr.r:fr.w])
		fr.r, fr.buf = 0, nb
	} else if len(fr.buf)-fr.r < need {
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
	for fr.w-fr.r < need {
		end := fr.off + int64(fr.w-fr.r) // file offset of buf[w]
		n := min(int64(len(fr.buf)-fr.w), limit-end)
		m, err := fr.f.ReadAt(fr.buf[fr.w:fr.w+int(n)], end)
		fr.w += m
		if m == 0 && err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// resync finds the first offset in (from, limit) where a whole valid frame
// starts, for a reader to resume after damage.
func resync(f *os.File, from, limit int64) (int64, bool, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk+frameHeaderSize+MaxRecordSize)
	for off := from + 1; off < limit; off += chunk {
		n := int(min(int64(len(buf)), limit-off))
		if _, err := f.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return 0, false, err
		}
		// A frame starting in the first chunk bytes fits in buf whole,
		// unless it crosses limit, in which case it is not whole anyway.
		for i := range min(n, chunk) {
			if _, _, st := decodeFrame(buf[i:n]); st == frameOK || st == frameErased {
				return off + int64(i), true, nil
			}
		}
	}
	return 0, false, nil
}

// allZero reports whether f holds only zero bytes in [from, to).
func allZero(f *os.File, from, to int64) (bool, error) {
	buf := make([]byte, 64<<10)
	for off := from; off < to; {
		n := int(min(int64(len(buf)), to-off))
		m, err := f.ReadAt(buf[:n], off)
		for _, c := range buf[:m] {
			if c != 0 {
				return false, nil
			}
		}
		if m < n {
			return false, err
		}
		off += int64(m)
	}
	return true, nil
}
