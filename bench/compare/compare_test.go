package main

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   spread
	}{
		{"none", nil, spread{}},
		{"one", []float64{5}, spread{median: 5, low: 5, high: 5, n: 1}},
		{"odd", []float64{3, 1, 2}, spread{median: 2, low: 1, high: 3, n: 3}},
		{"even takes the middle two", []float64{4, 1, 3, 2}, spread{median: 2.5, low: 1, high: 4, n: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.values)
			if got := summarize(tc.values); got != tc.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tc.values, got, tc.want)
			}
			if !slices.Equal(in, tc.values) {
				t.Errorf("summarize reordered its input: %v", tc.values)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name   string
		a, b   spread
		want   float64
		wantOK bool
	}{
		{"plain", spread{median: 300, n: 3}, spread{median: 200, n: 3}, 1.5, true},
		{"no samsa runs", spread{}, spread{median: 200, n: 3}, 0, false},
		{"kfake zero", spread{median: 1, n: 1}, spread{median: 0, n: 1}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ratio(tc.a, tc.b)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("ratio = %g, %v; want %g, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestParsePeakRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"typical", "Name:\tsamsa\nVmPeak:\t  900000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40000 kB\n", 81920 * 1024, false},
		{"missing", "Name:\tsamsa\nVmRSS:\t 1 kB\n", 0, true},
		{"odd unit", "VmHWM:\t 5 MB\n", 0, true},
		{"not a number", "VmHWM:\t x kB\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePeakRSS(tc.status)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parsePeakRSS = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseCPUTicks(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 40 in each line below.
	tail := " S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 12 0 100 2000000 500"
	tests := []struct {
		name    string
		stat    string
		want    int64
		wantErr bool
	}{
		{"plain name", "1234 (samsa)" + tail, 290, false},
		{"name with spaces and parens", "1234 (my (odd) name)" + tail, 290, false},
		{"no name", "1234 samsa S 1", 0, true},
		{"truncated", "1234 (samsa) S 1 2 3", 0, true},
		{"not a number", "1234 (samsa) S 1 2 3 4 5 6 7 8 9 10 x 40 0", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCPUTicks(tc.stat)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseCPUTicks = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseResultLine(t *testing.T) {
	line := `{"workload":"produce","records":10,"bytes":10240,"seconds":0.5,"records_per_sec":20,"mib_per_sec":0.02,"p50_ms":1.5,"p99_ms":2,"p999_ms":2,"max_ms":2,"errors":0}`
	tests := []struct {
		name    string
		stdout  string
		wantErr bool
	}{
		{"one line", line + "\n", false},
		{"last line counts", "noise\n" + line + "\n\n", false},
		{"empty", "", true},
		{"not JSON", "produced 10 records\n", true},
		{"JSON without workload", `{"records":1}` + "\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseResultLine(tc.stdout)
			if tc.wantErr {
				if !errors.Is(err, errNoResult) {
					t.Errorf("err = %v, want errNoResult", err)
				}
				return
			}
			if err != nil || got.Workload != "produce" || got.Records != 10 || got.P50Ms != 1.5 {
				t.Errorf("got %+v, %v", got, err)
			}
		})
	}
}

func TestSelectWorkloads(t *testing.T) {
	tests := []struct {
		list    string
		want    []string
		wantErr bool
	}{
		{"all", []string{"W1", "W2", "W3", "W4", "W5", "W1F"}, false},
		{"", []string{"W1", "W2", "W3", "W4", "W5", "W1F"}, false},
		{"w3, W1", []string{"W1", "W3"}, false}, // standard order, any case
		{"W1F", []string{"W1F"}, false},
		{"W9", nil, true},
		{",", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.list, func(t *testing.T) {
			got, err := selectWorkloads(tc.list)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var names []string
			for _, w := range got {
				names = append(names, w.name)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("got %v, want %v", names, tc.want)
			}
		})
	}
}

func TestPlanPhases(t *testing.T) {
	// describe renders a plan as "never: W1 W3 | always: W1F", setup steps in
	// parentheses.
	describe := func(phases []phase) string {
		var parts []string
		for _, p := range phases {
			var steps []string
			for _, s := range p.steps {
				if s.setup {
					steps = append(steps, "("+s.workload.name+")")
				} else {
					steps = append(steps, s.workload.name)
				}
			}
			parts = append(parts, p.fsyncName()+": "+strings.Join(steps, " "))
		}
		return strings.Join(parts, " | ")
	}
	tests := []struct {
		list string
		want string
	}{
		{"all", "never: W1 W2 W3 W4 W5 | always: W1F"},
		{"W3", "never: (W1) W3"},
		{"W1,W3", "never: W1 W3"},
		{"W1F", "always: W1F"},
		{"W4,W1F", "never: W4 | always: W1F"},
	}
	for _, tc := range tests {
		t.Run(tc.list, func(t *testing.T) {
			selected, err := selectWorkloads(tc.list)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(planPhases(selected)); got != tc.want {
				t.Errorf("plan = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestScaling(t *testing.T) {
	tests := []struct {
		scale        float64
		wantRecords  int64
		wantDuration time.Duration
	}{
		{1, 1_000_000, 20 * time.Second},
		{0.1, 100_000, 2 * time.Second},
		{0.05, 50_000, 2 * time.Second}, // a timed run stays long enough to mean something
		{0.0001, 1_000, 2 * time.Second},
		{2, 2_000_000, 40 * time.Second},
	}
	for _, tc := range tests {
		if got := scaledRecords(tc.scale); got != tc.wantRecords {
			t.Errorf("scaledRecords(%g) = %d, want %d", tc.scale, got, tc.wantRecords)
		}
		if got := scaledDuration(tc.scale); got != tc.wantDuration {
			t.Errorf("scaledDuration(%g) = %s, want %s", tc.scale, got, tc.wantDuration)
		}
	}
	// W3 reads exactly what W1 wrote.
	all := standardWorkloads()
	w1, w3 := strings.Join(all[0].args(0.3), " "), strings.Join(all[2].args(0.3), " ")
	if !strings.Contains(w1, "--records 300000") || !strings.Contains(w3, "-t w1 --records 300000") {
		t.Errorf("W1 %q and W3 %q disagree", w1, w3)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"defaults", nil, false},
		{"quick", []string{"--scale", "0.05", "--rounds", "1", "--markdown"}, false},
		{"zero rounds", []string{"--rounds", "0"}, true},
		{"zero scale", []string{"--scale", "0"}, true},
		{"stray argument", []string{"now"}, true},
		{"unknown flag", []string{"--fast"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseOptions(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestResultsTable(t *testing.T) {
	result := func(mib, p99 float64, errs int64) *benchResult {
		return &benchResult{Workload: "produce", MiBPerSec: mib, RecordsPerSec: mib * 1024, P50Ms: 1, P99Ms: p99, P999Ms: p99, MaxMs: p99, Errors: errs}
	}
	runs := []runRecord{
		{Round: 1, Workload: "W1", Broker: "samsa", Result: result(300, 4, 0)},
		{Round: 1, Workload: "W1", Broker: "kfake", Result: result(200, 8, 0)},
		{Round: 2, Workload: "W1", Broker: "samsa", Result: result(330, 5, 2)},
		{Round: 2, Workload: "W1", Broker: "kfake", Failure: "did not start"},
		{Round: 3, Workload: "W1", Broker: "samsa", Result: result(360, 6, 0)},
		{Round: 3, Workload: "W1", Broker: "kfake", Result: result(220, 10, 0)},
		{Round: 1, Workload: "W4", Broker: "samsa", Result: result(1, 2, 0)},
		{Round: 1, Workload: "W4", Broker: "kfake", Result: result(1, 1, 0)},
	}
	selected, err := selectWorkloads("W1,W4")
	if err != nil {
		t.Fatal(err)
	}
	tbl := resultsTable(selected, runs, []string{"samsa", "kfake"})
	rows := map[string][]string{}
	for _, row := range tbl.rows {
		rows[row[0]+" "+row[1]] = row
	}
	want := map[string][]string{
		"W1 MiB/s":                {"W1", "MiB/s", "330.0", "[300.0 – 360.0]", "210.0", "[200.0 – 220.0]", "1.57"},
		"W1 p99 ms":               {"W1", "p99 ms", "5.000", "[4.000 – 6.000]", "9.000", "[8.000 – 10.0]", "0.56"},
		"W1 errors / failed runs": {"W1", "errors / failed runs", "2 / 0", "", "0 / 1", "", ""},
		"W4 p99 ms":               {"W4", "p99 ms", "2.000", "[2.000 – 2.000]", "1.000", "[1.000 – 1.000]", "2.00"},
	}
	for key, w := range want {
		if got := rows[key]; !slices.Equal(got, w) {
			t.Errorf("row %q = %q, want %q", key, got, w)
		}
	}
	if _, ok := rows["W4 MiB/s"]; ok {
		t.Error("W4 runs at a fixed rate: its throughput rows should not show")
	}

	var text, markdown bytes.Buffer
	tbl.write(&text, false)
	tbl.write(&markdown, true)
	if !strings.Contains(markdown.String(), "| W1 | MiB/s | 330.0 |") || !strings.Contains(markdown.String(), "|---|") {
		t.Errorf("markdown table:\n%s", markdown.String())
	}
	if strings.Contains(text.String(), "|") {
		t.Errorf("text table has markdown pipes:\n%s", text.String())
	}
}

func TestUsageTable(t *testing.T) {
	tbl := usageTable([]usageRecord{
		{Round: 1, Phase: "samsa --fsync never", Broker: "samsa", usage: usage{PeakRSSBytes: 80 << 20, CPUSeconds: 2.314}},
		{Round: 1, Phase: "samsa --fsync never", Broker: "kfake", Failure: "did not start"},
	})
	if got := tbl.rows[0]; !slices.Equal(got, []string{"1", "samsa --fsync never", "samsa", "80", "2.31"}) {
		t.Errorf("row 0 = %q", got)
	}
	if got := tbl.rows[1]; got[3] != "–" || !strings.Contains(got[4], "did not start") {
		t.Errorf("row 1 = %q", got)
	}
}

func TestCPUTable(t *testing.T) {
	run := func(round int, broker string, records int64, brokerCPU, clientCPU float64) runRecord {
		return runRecord{Round: round, Workload: "W5", Broker: broker, Result: &benchResult{Records: records},
			BrokerCPUSeconds: brokerCPU, ClientCPUSeconds: clientCPU}
	}
	runs := []runRecord{
		run(1, "samsa", 1000, 1.0, 3.0), run(2, "samsa", 1000, 1.2, 3.2), run(3, "samsa", 1000, 1.1, 3.1),
		run(1, "kfake", 1000, 2.2, 2.0), run(2, "kfake", 1000, 2.0, 2.2), run(3, "kfake", 1000, 2.4, 2.1),
		{Round: 4, Workload: "W5", Broker: "kfake", Failure: "did not start"},
	}
	tbl := cpuTable([]workload{{name: "W5"}}, runs, []string{"samsa", "kfake"})
	if got, want := tbl.rows[0], []string{"W5", "1.100", "3.100", "2.200", "2.100", "0.50"}; !slices.Equal(got, want) {
		t.Errorf("row = %q, want %q", got, want)
	}
}

func TestDescribeRun(t *testing.T) {
	res := &benchResult{MiBPerSec: 12.5, RecordsPerSec: 12800, P50Ms: 1, P99Ms: 2, Errors: 1, FirstError: "boom"}
	tests := []struct {
		name string
		res  *benchResult
		err  error
		want []string
	}{
		{"ok", res, nil, []string{"12.5 MiB/s", "errors 1 (boom)"}},
		{"failed with result", res, errors.New("exit 1"), []string{"12.5 MiB/s", "FAILED: exit 1"}},
		{"failed without result", nil, errors.New("no broker"), []string{"FAILED: no broker"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := describeRun(tc.res, tc.err, false)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("describeRun = %q, want it to contain %q", got, w)
				}
			}
		})
	}
}
