package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultRecordFormat prints each record's value on its own line.
const defaultRecordFormat = `%s\n`

// recordFormat is a compiled `consume -f` template, kcat style:
//
//	%t topic          %p partition        %o offset
//	%k key            %s value            %T timestamp (Unix ms)
//	%h headers (k=v,k2=v2)                %% a literal '%'
//	%K key length     %S value length     (-1 when null)
//	\n newline  \t tab  \r carriage return  \\ backslash
//
// Anything else after '%' or '\' is rejected when the template is parsed,
// so a typo fails before consuming starts instead of printing garbage.
type recordFormat struct {
	parts []formatPart
}

// formatPart is either literal text (verb == 0) or one record field.
type formatPart struct {
	verb    byte
	literal string
}

// formatVerbs lists the field letters a template may use after '%'.
const formatVerbs = "tpoksThKS"

// parseRecordFormat compiles a template; see recordFormat for the syntax.
func parseRecordFormat(template string) (recordFormat, error) {
	var (
		parts   []formatPart
		literal strings.Builder
	)
	flushLiteral := func() {
		if literal.Len() > 0 {
			parts = append(parts, formatPart{literal: literal.String()})
			literal.Reset()
		}
	}
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c != '%' && c != '\\' {
			literal.WriteByte(c)
			continue
		}
		if i+1 == len(template) {
			return recordFormat{}, fmt.Errorf("format %q ends with a lone %q", template, c)
		}
		i++
		next := template[i]
		if c == '\\' {
			switch next {
			case 'n':
				literal.WriteByte('\n')
			case 't':
				literal.WriteByte('\t')
			case 'r':
				literal.WriteByte('\r')
			case '\\':
				literal.WriteByte('\\')
			default:
				return recordFormat{}, fmt.Errorf("format %q: unknown escape \\%c (use \\n, \\t, \\r or \\\\)", template, next)
			}
			continue
		}
		if next == '%' {
			literal.WriteByte('%')
			continue
		}
		if strings.IndexByte(formatVerbs, next) < 0 {
			return recordFormat{}, fmt.Errorf("format %q: unknown field %%%c (use one of %%t %%p %%o %%k %%s %%T %%h %%K %%S)", template, next)
		}
		flushLiteral()
		parts = append(parts, formatPart{verb: next})
	}
	flushLiteral()
	return recordFormat{parts: parts}, nil
}

// appendRecord appends r rendered by the template to dst.
func (f recordFormat) appendRecord(dst []byte, r *kgo.Record) []byte {
	for _, part := range f.parts {
		switch part.verb {
		case 0:
			dst = append(dst, part.literal...)
		case 't':
			dst = append(dst, r.Topic...)
		case 'p':
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case 'o':
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case 'k':
			dst = append(dst, r.Key...)
		case 's':
			dst = append(dst, r.Value...)
		case 'T':
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		case 'h':
			for i, h := range r.Headers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, h.Key...)
				dst = append(dst, '=')
				dst = append(dst, h.Value...)
			}
		case 'K':
			dst = strconv.AppendInt(dst, nullableLength(r.Key), 10)
		case 'S':
			dst = strconv.AppendInt(dst, nullableLength(r.Value), 10)
		}
	}
	return dst
}

// nullableLength is Kafka's length of a nullable byte field: -1 for null.
func nullableLength(b []byte) int64 {
	if b == nil {
		return -1
	}
	return int64(len(b))
}
