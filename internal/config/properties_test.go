package config

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
)

// propertiesCases doubles as the fuzz seed corpus.
var propertiesCases = []struct {
	name  string
	input string
	want  map[string]string
}{
	{"equals", "a=1\n", map[string]string{"a": "1"}},
	{"colon", "a:1", map[string]string{"a": "1"}},
	{"whitespace separator", "a 1", map[string]string{"a": "1"}},
	{"blanks around separator", "a \t = \f 1", map[string]string{"a": "1"}},
	{"second separator stays in value", "a==1\nb : = 2\nc:=3", map[string]string{"a": "=1", "b": "= 2", "c": "=3"}},
	{"key only", "a\nb=\nc :", map[string]string{"a": "", "b": "", "c": ""}},
	{"empty key", "=v", map[string]string{"": "v"}},
	{"trailing whitespace kept", "a=1  \t", map[string]string{"a": "1  \t"}},
	{"value keeps inner separators", "url=http://h:80/x?a=b", map[string]string{"url": "http://h:80/x?a=b"}},
	{"comments", "# one\n! two\n   # indented\na=1 # not a comment", map[string]string{"a": "1 # not a comment"}},
	{"blank and whitespace lines", "\n   \n\t\f\na=1\n\n", map[string]string{"a": "1"}},
	{"last duplicate wins", "a=1\na=2", map[string]string{"a": "2"}},
	{"CR line ends", "a=1\rb=2\r\nc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
	{"continuation", "a=one,\\\n     two,\\\r\n\tthree", map[string]string{"a": "one,two,three"}},
	{"continuation of key", "lo\\\n  ng=1", map[string]string{"long": "1"}},
	{"continuation line starting with #", "a=1\\\n#2", map[string]string{"a": "1#2"}},
	{"continuation into blank line ends it", "a=1\\\n\nb=2", map[string]string{"a": "1", "b": "2"}},
	{"comment never continues", "# note \\\na=1", map[string]string{"a": "1"}},
	{"even backslashes do not continue", "a=x\\\\\nb=2", map[string]string{"a": `x\`, "b": "2"}},
	{"dangling backslash at end", "a=1\\", map[string]string{"a": "1"}},
	{"only a continuation", "\\\n  a=1", map[string]string{"a": "1"}},
	{"escaped separators in key", `a\=b\:c\ d=1`, map[string]string{"a=b:c d": "1"}},
	{"character escapes", `a=t\tn\nr\rf\f\q\\`, map[string]string{"a": "t\tn\nr\rf\fq\\"}},
	{"unicode escape", `a=caf\u00e9 \u00E9`, map[string]string{"a": "café é"}},
	{"surrogate pair", `a=\uD83D\uDE00`, map[string]string{"a": "😀"}},
	{"lone surrogate", `a=\uD83Dx\uDE00`, map[string]string{"a": "\uFFFDx\uFFFD"}},
	{"utf-8 text", "a=ünïcødé ☃", map[string]string{"a": "ünïcødé ☃"}},
	{"byte-order mark", "\uFEFFa=1", map[string]string{"a": "1"}},
	{"escaped leading space in value", `a=\ 1`, map[string]string{"a": " 1"}},
}

func TestParseProperties(t *testing.T) {
	for _, tc := range propertiesCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tc.input))
			if err != nil {
				t.Fatalf("ParseProperties: %v", err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input, wantLine string
	}{
		{"short unicode escape", "a=\\u12", "line 1"},
		{"bad hex digit", "a=1\nb=\\u12G4", "line 2"},
		{"in a key", "\n\n\\uXYZW=1", "line 3"},
		{"line of a continued entry", "x=1\na=\\\n  \\u00", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProperties(strings.NewReader(tc.input))
			if !errors.Is(err, ErrMalformedProperties) {
				t.Fatalf("error %v, want ErrMalformedProperties", err)
			}
			if !strings.Contains(err.Error(), tc.wantLine) {
				t.Errorf("error %q does not mention %q", err, tc.wantLine)
			}
		})
	}
}

func TestParsePropertiesKafkaExample(t *testing.T) {
	f, err := os.Open("testdata/server.properties")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		t.Fatalf("ParseProperties: %v", err)
	}
	want := map[string]string{
		"process.roles":                            "broker,controller",
		"node.id":                                  "1",
		"controller.quorum.voters":                 "1@localhost:9093",
		"listeners":                                "PLAINTEXT://:9092,CONTROLLER://:9093",
		"inter.broker.listener.name":               "PLAINTEXT",
		"advertised.listeners":                     "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093",
		"controller.listener.names":                "CONTROLLER",
		"listener.security.protocol.map":           "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
		"num.network.threads":                      "3",
		"num.io.threads":                           "8",
		"socket.send.buffer.bytes":                 "102400",
		"socket.receive.buffer.bytes":              "102400",
		"socket.request.max.bytes":                 "104857600",
		"log.dirs":                                 "/tmp/kraft-combined-logs",
		"num.partitions":                           "1",
		"num.recovery.threads.per.data.dir":        "1",
		"offsets.topic.replication.factor":         "1",
		"transaction.state.log.replication.factor": "1",
		"transaction.state.log.min.isr":            "1",
		"log.retention.hours":                      "168",
		"log.segment.bytes":                        "1073741824",
		"log.retention.check.interval.ms":          "300000",
	}
	if !maps.Equal(props, want) {
		for k, v := range props {
			if want[k] != v {
				t.Errorf("%s = %q, want %q", k, v, want[k])
			}
		}
		for k := range want {
			if _, ok := props[k]; !ok {
				t.Errorf("%s missing", k)
			}
		}
	}
}

func TestWritePropertiesRoundTrip(t *testing.T) {
	for _, props := range []map[string]string{
		{},
		{"": ""},
		{"a": "1", "b": ""},
		{" lead": " lead", "trail ": "trail ", "in side": "in side"},
		{"sep=:#!": "=:#!", `back\slash`: `ends\`},
		{"ctl\t\n\r\f": "\t\n\r\f\x00\x1b"},
		{"\uFEFFbom": "\uFEFF", "nbsp\u00a0": "\u00a0"},
		{"emoji😀": "😀", "tag": "\U000E0001", "private": "\uE000"},
		{"a": "\\", "b": "\\\\"},
	} {
		var buf bytes.Buffer
		if err := WriteProperties(&buf, props); err != nil {
			t.Fatalf("WriteProperties: %v", err)
		}
		got, err := ParseProperties(&buf)
		if err != nil {
			t.Fatalf("ParseProperties(%q): %v", buf.String(), err)
		}
		if !maps.Equal(got, props) {
			t.Errorf("round trip of %q gave %q", props, got)
		}
	}
}

func TestWritePropertiesIsSortedAndReadable(t *testing.T) {
	var buf bytes.Buffer
	err := WriteProperties(&buf, map[string]string{"b": "2", "a": "x y", "c": "http://h:1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "a=x y\nb=2\nc=http\\://h\\:1\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
