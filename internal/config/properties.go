package config

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseProperties reads Java .properties text, as java.util.Properties.load
// does, into a map (a key given twice keeps its last value):
//
//   - lines end at \n, \r or \r\n; whitespace (space, tab, form feed) at the
//     start of a line is skipped, and blank lines are ignored;
//   - a line whose first non-blank character is # or ! is a comment;
//   - a line ending in an odd number of backslashes continues on the next
//     line, whose leading whitespace is dropped (comments never continue);
//   - the key ends at the first unescaped '=', ':' or whitespace; whitespace
//     and at most one '=' or ':' after it are skipped; the rest of the line,
//     trailing whitespace included, is the value;
//   - in keys and values \t \n \r \f and \uXXXX are escapes (UTF-16 pairs
//     are joined), and a backslash before any other character stands for
//     that character.
//
// Unlike Java, which reads ISO-8859-1, the text is read as UTF-8 (invalid
// bytes become U+FFFD), and a leading byte-order mark is skipped. The only
// syntax error is a malformed \uXXXX escape; it wraps ErrMalformedProperties.
func ParseProperties(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read properties: %w", err)
	}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	props := make(map[string]string)
	lines := lineReader{text: text, line: 1}
	for {
		logical, lineNo, ok := lines.next()
		if !ok {
			return props, nil
		}
		rawKey, rawValue := splitKeyValue(logical)
		key, err := unescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("line %d: key: %w", lineNo, err)
		}
		value, err := unescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %q: %w", lineNo, key, err)
		}
		props[key] = value
	}
}

// lineReader yields logical lines: comments and blank lines dropped,
// continuations joined, escapes still in place.
type lineReader struct {
	text string
	pos  int
	line int // physical line number at pos, for error messages
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' || r == '\f' }

// peek returns the rune at pos and its size (0 at the end).
func (lr *lineReader) peek() (rune, int) {
	if lr.pos >= len(lr.text) {
		return 0, 0
	}
	return utf8.DecodeRuneInString(lr.text[lr.pos:])
}

// skipTerminator consumes one line terminator (\n, \r or \r\n) at pos.
func (lr *lineReader) skipTerminator() {
	if lr.text[lr.pos] == '\r' && lr.pos+1 < len(lr.text) && lr.text[lr.pos+1] == '\n' {
		lr.pos++
	}
	lr.pos++
	lr.line++
}

func (lr *lineReader) skipBlanks() {
	for r, size := lr.peek(); size > 0 && isBlank(r); r, size = lr.peek() {
		lr.pos += size
	}
}

func (lr *lineReader) next() (logical []rune, lineNo int, ok bool) {
	for {
		// Skip blank lines and leading whitespace.
		for {
			r, size := lr.peek()
			if size == 0 {
				return nil, 0, false
			}
			if r == '\r' || r == '\n' {
				lr.skipTerminator()
				continue
			}
			if !isBlank(r) {
				break
			}
			lr.pos += size
		}
		lineNo = lr.line
		if c := lr.text[lr.pos]; c == '#' || c == '!' {
			for lr.pos < len(lr.text) && lr.text[lr.pos] != '\r' && lr.text[lr.pos] != '\n' {
				lr.pos++
			}
			continue
		}
		var buf []rune
		precedingBackslash := false
		for {
			r, size := lr.peek()
			if size == 0 { // end of input: a dangling backslash is dropped
				if precedingBackslash {
					buf = buf[:len(buf)-1]
				}
				break
			}
			if r == '\r' || r == '\n' {
				lr.skipTerminator()
				if !precedingBackslash {
					break
				}
				buf = buf[:len(buf)-1]
				precedingBackslash = false
				lr.skipBlanks()
				continue
			}
			lr.pos += size
			buf = append(buf, r)
			precedingBackslash = r == '\\' && !precedingBackslash
		}
		if len(buf) > 0 {
			return buf, lineNo, true
		}
		// A line that was only a continuation backslash: start afresh, as
		// Java does.
	}
}

// splitKeyValue splits a logical line into raw key and raw value.
func splitKeyValue(line []rune) (key, value []rune) {
	keyEnd, valueStart := len(line), len(line)
	hasSeparator := false
	precedingBackslash := false
	for i, c := range line {
		if !precedingBackslash {
			if c == '=' || c == ':' {
				keyEnd, valueStart, hasSeparator = i, i+1, true
				break
			}
			if isBlank(c) {
				keyEnd, valueStart = i, i+1
				break
			}
		}
		precedingBackslash = c == '\\' && !precedingBackslash
	}
	for valueStart < len(line) {
		c := line[valueStart]
		if !isBlank(c) {
			if hasSeparator || (c != '=' && c != ':') {
				break
			}
			hasSeparator = true
		}
		valueStart++
	}
	return line[:keyEnd], line[valueStart:]
}

// unescape resolves backslash escapes in a raw key or value.
func unescape(raw []rune) (string, error) {
	if !slices.Contains(raw, '\\') {
		return string(raw), nil
	}
	var b strings.Builder
	var highSurrogate rune // pending first half of a UTF-16 pair, or 0
	flushSurrogate := func() {
		if highSurrogate != 0 {
			b.WriteRune(utf8.RuneError)
			highSurrogate = 0
		}
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			flushSurrogate()
			b.WriteRune(c)
			continue
		}
		i++
		if i == len(raw) { // cannot happen after lineReader; drop it
			break
		}
		c = raw[i]
		switch c {
		case 't':
			c = '\t'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 'f':
			c = '\f'
		case 'u':
			code, ok := hex4(raw[i+1:])
			if !ok {
				return "", fmt.Errorf("%w: \\u must be followed by four hex digits", ErrMalformedProperties)
			}
			i += 4
			switch {
			case utf16.IsSurrogate(code) && code < 0xDC00: // first half
				flushSurrogate()
				highSurrogate = code
			case utf16.IsSurrogate(code): // second half
				if highSurrogate != 0 {
					b.WriteRune(utf16.DecodeRune(highSurrogate, code))
					highSurrogate = 0
				} else {
					b.WriteRune(utf8.RuneError)
				}
			default:
				flushSurrogate()
				b.WriteRune(code)
			}
			continue
		}
		flushSurrogate()
		b.WriteRune(c)
	}
	flushSurrogate()
	return b.String(), nil
}

func hex4(r []rune) (rune, bool) {
	if len(r) < 4 {
		return 0, false
	}
	var code rune
	for _, c := range r[:4] {
		var digit rune
		switch {
		case '0' <= c && c <= '9':
			digit = c - '0'
		case 'a' <= c && c <= 'f':
			digit = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			digit = c - 'A' + 10
		default:
			return 0, false
		}
		code = code<<4 | digit
	}
	return code, true
}

// WriteProperties writes props as .properties text, one key=value line per
// key in sorted order, escaped so that ParseProperties reads back the same
// map. Printable non-ASCII text is written as UTF-8, everything else that
// could be misread as \uXXXX.
func WriteProperties(w io.Writer, props map[string]string) error {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	bw := bufio.NewWriter(w)
	for _, k := range keys {
		bw.WriteString(escape(k, true))
		bw.WriteByte('=')
		bw.WriteString(escape(props[k], false))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write properties: %w", err)
	}
	return nil
}

// escape makes s safe as a key (every space escaped) or a value (only a
// leading space escaped, so trailing spaces survive as they are).
func escape(s string, isKey bool) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '=', ':', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case ' ':
			if isKey || i == 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(' ')
		default:
			if unicode.IsPrint(r) {
				b.WriteRune(r)
				continue
			}
			for _, unit := range utf16.AppendRune(nil, r) {
				fmt.Fprintf(&b, `\u%04X`, unit)
			}
		}
	}
	return b.String()
}
