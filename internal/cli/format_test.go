package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRecordFormat(t *testing.T) {
	record := &kgo.Record{
		Topic:     "orders",
		Partition: 3,
		Offset:    42,
		Key:       []byte("k1"),
		Value:     []byte("hello"),
		Timestamp: time.UnixMilli(1700000000123),
		Headers: []kgo.RecordHeader{
			{Key: "trace", Value: []byte("abc")},
			{Key: "empty"},
		},
	}
	tombstone := &kgo.Record{Topic: "orders", Timestamp: time.UnixMilli(0)}

	tests := []struct {
		name     string
		template string
		record   *kgo.Record
		want     string
	}{
		{"default", defaultRecordFormat, record, "hello\n"},
		{"every field", `%t %p %o %k %s %T`, record, "orders 3 42 k1 hello 1700000000123"},
		{"headers", `[%h]`, record, "[trace=abc,empty=]"},
		{"no headers", `[%h]`, tombstone, "[]"},
		{"lengths", `%K/%S`, record, "2/5"},
		{"null lengths", `%K/%S`, tombstone, "-1/-1"},
		{"null key and value print empty", `<%k><%s>`, tombstone, "<><>"},
		{"escapes", `a\tb\r\n\\`, record, "a\tb\r\n\\"},
		{"percent literal", `100%% %s`, record, "100% hello"},
		{"literal only", `x`, record, "x"},
		{"empty template", ``, record, ""},
		{"adjacent fields", `%k%s%o`, record, "k1hello42"},
		{"utf-8 literal", `é%sé`, record, "éhelloé"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseRecordFormat(tc.template)
			if err != nil {
				t.Fatalf("parseRecordFormat(%q): %v", tc.template, err)
			}
			got := string(f.appendRecord(nil, tc.record))
			if got != tc.want {
				t.Errorf("format %q = %q, want %q", tc.template, got, tc.want)
			}
		})
	}
}

func TestRecordFormatAppends(t *testing.T) {
	f, err := parseRecordFormat(`%o;`)
	if err != nil {
		t.Fatal(err)
	}
	got := f.appendRecord([]byte("prefix:"), &kgo.Record{Offset: 7})
	if string(got) != "prefix:7;" {
		t.Errorf("got %q, want %q", got, "prefix:7;")
	}
}

func TestRecordFormatErrors(t *testing.T) {
	tests := []struct {
		name     string
		template string
		wantErr  string
	}{
		{"unknown field", `%x`, "unknown field %x"},
		{"unknown escape", `\q`, `unknown escape \q`},
		{"lone percent", `value %`, "lone '%'"},
		{"lone backslash", `value \`, `lone '\\'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRecordFormat(tc.template)
			if err == nil {
				t.Fatalf("parseRecordFormat(%q) succeeded, want error", tc.template)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

// FuzzParseRecordFormat checks that any template either fails to parse or
// renders without panicking, and that a template without '%' or '\' renders
// as itself.
func FuzzParseRecordFormat(f *testing.F) {
	for _, seed := range []string{defaultRecordFormat, `%t %p %o %k %s %T %h %K %S`, `100%%\t\\`, `%`, `\`, `%z`} {
		f.Add(seed)
	}
	record := &kgo.Record{Topic: "t", Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "h"}}}
	f.Fuzz(func(t *testing.T, template string) {
		format, err := parseRecordFormat(template)
		if err != nil {
			return
		}
		got := string(format.appendRecord(nil, record))
		if !strings.ContainsAny(template, `%\`) && got != template {
			t.Errorf("plain template %q rendered as %q", template, got)
		}
	})
}

// FuzzParseOffsetSpec checks that parsing never panics and that every
// numeric spec it accepts carries a non-negative value.
func FuzzParseOffsetSpec(f *testing.F) {
	for _, seed := range []string{"beginning", "end", "42", "-3", "@1700000000000", "-", "@", "+1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := parseOffsetSpec(s)
		if err == nil && spec.value < 0 {
			t.Errorf("parseOffsetSpec(%q) = %+v: negative value", s, spec)
		}
	})
}
