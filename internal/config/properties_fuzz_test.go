package config

import (
	"bytes"
	"maps"
	"os"
	"strings"
	"testing"
)

// FuzzParseProperties checks, for any input:
//   - ParseProperties never panics;
//   - when it succeeds, WriteProperties of the result parses back to the
//     same map, and writing that again gives the same bytes.
func FuzzParseProperties(f *testing.F) {
	for _, tc := range propertiesCases {
		f.Add(tc.input)
	}
	if example, err := os.ReadFile("testdata/server.properties"); err == nil {
		f.Add(string(example))
	}
	f.Add("a=\\u12")
	f.Add("\xff\xfe=\x80")
	f.Fuzz(func(t *testing.T, input string) {
		props, err := ParseProperties(strings.NewReader(input))
		if err != nil {
			return
		}
		var first bytes.Buffer
		if err := WriteProperties(&first, props); err != nil {
			t.Fatalf("WriteProperties: %v", err)
		}
		again, err := ParseProperties(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", first.String(), err)
		}
		if !maps.Equal(props, again) {
			t.Fatalf("round trip changed the map:\n got %q\nwant %q\ntext %q", again, props, first.String())
		}
		var second bytes.Buffer
		if err := WriteProperties(&second, again); err != nil {
			t.Fatalf("WriteProperties: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("serialisation not stable:\n%q\n%q", first.String(), second.String())
		}
	})
}
