package client

import (
	"fmt"
	"io"
)

// chunkSource hands the uploader the bytes of a chunk.
type chunkSource interface {
	// section returns a reader of bytes [first, first+n), which lie in
	// one chunk of the plan.
	section(first, n int64) (io.Reader, error)
	// err returns the error the source itself met (not the network's),
	// which ends the upload instead of being retried.
	err() error
}

// sectionSource streams sections of an io.ReaderAt.
type sectionSource struct {
	r       io.ReaderAt
	readErr error
}

func (s *sectionSource) section(first, n int64) (io.Reader, error) {
	return &errTrap{r: io.NewSectionReader(s.r, first, n), n: n, dst: &s.readErr}, nil
}

func (s *sectionSource) err() error { return s.readErr }

// errTrap passes reads through and records a read error, or an EOF before
// n bytes, in dst.
type errTrap struct {
	r   io.Reader
	n   int64
	dst *error
}

func (t *errTrap) Read(p []byte) (int, error) {
	k, err := t.r.Read(p)
	t.n -= int64(k)
	if err != nil && (err != io.EOF || t.n > 0) && *t.dst == nil {
		*t.dst = fmt.Errorf("client: upload: reading the video: %w", unexpectedEOF(err))
	}
	return k, err
}

// chunkBuffer reads an io.Reader once and keeps the chunk it is in, filled
// as the transport reads it, so reading the source and sending overlap.
type chunkBuffer struct {
	r       io.Reader
	plan    ChunkPlan
	pos     int64  // bytes read from r
	buf     []byte // the current chunk; len is its length
	start   int64  // offset of buf[0]
	filled  int64  // bytes of buf read from r
	readErr error
}

func (cb *chunkBuffer) err() error { return cb.readErr }

func (cb *chunkBuffer) section(first, n int64) (io.Reader, error) {
	if first < cb.start || first+n > cb.start+int64(len(cb.buf)) {
		k := cb.plan.chunkAt(first)
		cFirst, cLen := cb.plan.Chunk(k)
		if cFirst < cb.pos {
			return nil, fmt.Errorf("client: upload: the server asks for byte %d again, before the reader's position %d; an io.Reader cannot be rewound", first, cb.pos)
		}
		if skip := cFirst - cb.pos; skip > 0 {
			if _, err := io.CopyN(io.Discard, cb.r, skip); err != nil {
				return nil, fmt.Errorf("client: upload: skipping to byte %d: %w", cFirst, unexpectedEOF(err))
			}
		}
		if cb.buf == nil {
			cb.buf = make([]byte, 0, cb.plan.maxLen())
		}
		cb.buf = cb.buf[:cLen]
		cb.start, cb.pos, cb.filled = cFirst, cFirst, 0
	}
	off := first - cb.start
	return &bufferedSection{cb: cb, off: off, end: off + n}, nil
}

// fillTo reads from r until buf holds at least want bytes (or more, up to
// limit, as one read gives).
func (cb *chunkBuffer) fillTo(want, limit int64) error {
	for cb.filled < want {
		k, err := cb.r.Read(cb.buf[cb.filled:limit])
		cb.filled += int64(k)
		cb.pos += int64(k)
		if err == io.EOF && cb.filled >= want {
			return nil
		}
		if err != nil {
			cb.readErr = fmt.Errorf("client: upload: reading the video: %w", unexpectedEOF(err))
			return cb.readErr
		}
	}
	return nil
}

// bufferedSection reads [off, end) of the chunk buffer, filling it from the
// source as needed.
type bufferedSection struct {
	cb       *chunkBuffer
	off, end int64
}

func (s *bufferedSection) Read(p []byte) (int, error) {
	if s.off >= s.end {
		return 0, io.EOF
	}
	cb := s.cb
	if s.off >= cb.filled {
		if err := cb.fillTo(s.off+1, min(s.end, s.off+int64(len(p)))); err != nil {
			return 0, err
		}
	}
	k := copy(p, cb.buf[s.off:min(s.end, cb.filled)])
	s.off += int64(k)
	return k, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
