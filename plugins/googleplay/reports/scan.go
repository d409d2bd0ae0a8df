package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// encoding is how a file's code units are read: 1 byte (UTF-8) or 2 (UTF-16,
// either byte order).
type encoding struct {
	name string
	unit int
	big  bool
}

var (
	utf8Enc      = encoding{name: "UTF-8", unit: 1}
	utf16LE      = encoding{name: "UTF-16LE", unit: 2}
	utf16BE      = encoding{name: "UTF-16BE", unit: 2, big: true}
	utf16LENoBOM = encoding{name: "UTF-16LE without BOM", unit: 2}
	utf16BENoBOM = encoding{name: "UTF-16BE without BOM", unit: 2, big: true}
	encodings    = map[string]encoding{}
)

func init() {
	for _, e := range []encoding{utf8Enc, utf16LE, utf16BE, utf16LENoBOM, utf16BENoBOM} {
		encodings[e.name] = e
	}
}

// sniff picks the encoding from the first bytes and says how long the BOM
// is: the byte-order mark when there is one (UTF-16LE, UTF-16BE, UTF-8);
// without one, UTF-16 when one of the first two bytes is zero (an ASCII
// header written as UTF-16), else UTF-8.
func sniff(head []byte) (encoding, int) {
	switch {
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xFE:
		return utf16LE, 2
	case len(head) >= 2 && head[0] == 0xFE && head[1] == 0xFF:
		return utf16BE, 2
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		return utf8Enc, 3
	case len(head) >= 2 && head[0] != 0 && head[1] == 0:
		return utf16LENoBOM, 0
	case len(head) >= 2 && head[0] == 0 && head[1] != 0:
		return utf16BENoBOM, 0
	}
	return utf8Enc, 0
}

// maxRow bounds one row (a review text is at most a few thousand
// characters): a file without line ends, or with a quote never closed, is
// not read into memory whole.
const maxRow = 1 << 20

var errRowTooLong = fmt.Errorf("a row longer than %d bytes (an unclosed quote?)", maxRow)

// scanner splits a file into rows at line ends outside quotes, working on
// the raw code units, so it knows each row's byte offset in the file (for
// Position) and decodes one row at a time.
type scanner struct {
	r      *bufio.Reader
	enc    encoding
	offset int64 // bytes consumed
	line   int   // lines consumed
	units  []uint16
	out    []byte
}

func newScanner(r *bufio.Reader, enc encoding, offset int64, line int) *scanner {
	return &scanner{r: r, enc: enc, offset: offset, line: line}
}

// next returns the next row decoded to UTF-8 (its line end included), or
// io.EOF.
func (s *scanner) next() ([]byte, error) {
	if s.enc.unit == 1 {
		return s.next8()
	}
	return s.next16()
}

func (s *scanner) next8() ([]byte, error) {
	s.out = s.out[:0]
	st := fieldStart
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(s.out) > 0 {
				s.line++
				return s.valid(), nil
			}
			return nil, err
		}
		s.offset++
		s.out = append(s.out, b)
		if b == '\n' {
			s.line++
		}
		if st = st.step(rune(b)); st == rowEnd {
			return s.valid(), nil
		}
		if len(s.out) > maxRow {
			return nil, errRowTooLong
		}
	}
}

// valid replaces invalid UTF-8 with U+FFFD.
func (s *scanner) valid() []byte {
	if utf8.Valid(s.out) {
		return s.out
	}
	return []byte(strings.ToValidUTF8(string(s.out), "\uFFFD"))
}

func (s *scanner) next16() ([]byte, error) {
	s.units = s.units[:0]
	st := fieldStart
	for {
		b0, err := s.r.ReadByte()
		var b1 byte
		if err == nil {
			if b1, err = s.r.ReadByte(); errors.Is(err, io.EOF) {
				err = errors.New("the file ends in half a UTF-16 character")
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(s.units) > 0 {
				s.line++
				return s.decode(), nil
			}
			return nil, err
		}
		s.offset += 2
		u := uint16(b0) | uint16(b1)<<8
		if s.enc.big {
			u = uint16(b1) | uint16(b0)<<8
		}
		s.units = append(s.units, u)
		if u == '\n' {
			s.line++
		}
		if st = st.step(rune(u)); st == rowEnd {
			return s.decode(), nil
		}
		if len(s.units) > maxRow/2 {
			return nil, errRowTooLong
		}
	}
}

// state is where the scanner is in a row: a line end ends the row unless
// it is inside a quoted field; a quote opens one only at a field's start
// (a bare quote elsewhere is left to splitCSV to report, and does not
// swallow the rows after it).
type state uint8

const (
	fieldStart state = iota
	unquoted
	quoted
	quoteInQuoted // a quote inside a quoted field: its end, or the first of two
	rowEnd
)

func (st state) step(c rune) state {
	switch st {
	case fieldStart, unquoted:
		switch c {
		case '\n':
			return rowEnd
		case ',':
			return fieldStart
		case '"':
			if st == fieldStart {
				return quoted
			}
		}
		return unquoted
	case quoted:
		if c == '"' {
			return quoteInQuoted
		}
		return quoted
	default: // quoteInQuoted
		switch c {
		case '"':
			return quoted
		case ',':
			return fieldStart
		case '\n':
			return rowEnd
		}
		return unquoted
	}
}

func (s *scanner) decode() []byte {
	s.out = s.out[:0]
	for i := 0; i < len(s.units); i++ {
		u := s.units[i]
		switch {
		case u < utf8.RuneSelf:
			s.out = append(s.out, byte(u))
		case utf16.IsSurrogate(rune(u)) && i+1 < len(s.units):
			r := utf16.DecodeRune(rune(u), rune(s.units[i+1]))
			if r != utf8.RuneError {
				i++
			}
			s.out = utf8.AppendRune(s.out, r)
		default:
			s.out = utf8.AppendRune(s.out, rune(u)) // a lone surrogate becomes U+FFFD
		}
	}
	return s.out
}

// splitCSV splits one row (RFC 4180: comma-separated, fields in double
// quotes may hold commas, line ends and doubled quotes) into fields,
// appended to dst; a non-empty reason says why the row is not CSV.
func splitCSV(row string, dst []string) ([]string, string) {
	row = strings.TrimRight(row, "\r\n")
	for {
		if strings.HasPrefix(row, `"`) {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(row[i:], '"')
				if j < 0 {
					return dst, "a quoted field is not closed"
				}
				b.WriteString(row[i : i+j])
				i += j + 1
				if strings.HasPrefix(row[i:], `"`) {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			dst = append(dst, b.String())
			row = row[i:]
			if row == "" {
				return dst, ""
			}
			if row[0] != ',' {
				return dst, "text after a closing quote"
			}
			row = row[1:]
			continue
		}
		field, rest, more := strings.Cut(row, ",")
		if strings.IndexByte(field, '"') >= 0 {
			return dst, "a bare quote in an unquoted field"
		}
		dst = append(dst, field)
		if !more {
			return dst, ""
		}
		row = rest
	}
}
