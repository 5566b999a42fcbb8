package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/samsa-broker/samsa/internal/benchfmt"
)

// benchResult is the JSON line `samsa bench` prints on stdout.
type benchResult = benchfmt.Result

// runRecord is the outcome of one workload on one broker in one round.
type runRecord struct {
	Round    int          `json:"round"`
	Workload string       `json:"workload"`
	Broker   string       `json:"broker"`
	Result   *benchResult `json:"result,omitempty"`
	Failure  string       `json:"failure,omitempty"` // the run produced no result
	// BrokerCPUSeconds is the broker's CPU time (utime + stime) during the
	// run; ClientCPUSeconds the load generator's. On a machine the two
	// share, they show which side bounds a workload.
	BrokerCPUSeconds float64 `json:"broker_cpu_seconds"`
	ClientCPUSeconds float64 `json:"client_cpu_seconds"`
}

// usageRecord is what one broker process used over one phase of a round.
type usageRecord struct {
	Round  int    `json:"round"`
	Phase  string `json:"phase"` // "samsa --fsync never" or "samsa --fsync always"; kfake is the same in both
	Broker string `json:"broker"`
	usage
	Failure string `json:"failure,omitempty"`
}

// spread is the median and range of one metric over the rounds.
type spread struct {
	median, low, high float64
	n                 int
}

// summarize returns the median (mean of the middle two for an even count)
// and the range of values; n is 0 for no values.
func summarize(values []float64) spread {
	if len(values) == 0 {
		return spread{}
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	mid := len(sorted) / 2
	median := sorted[mid]
	if len(sorted)%2 == 0 {
		median = (sorted[mid-1] + sorted[mid]) / 2
	}
	return spread{median: median, low: sorted[0], high: sorted[len(sorted)-1], n: len(sorted)}
}

// ratio returns a/b, or false when b is not positive.
func ratio(a, b spread) (float64, bool) {
	if a.n == 0 || b.n == 0 || b.median <= 0 {
		return 0, false
	}
	return a.median / b.median, true
}

// metric is one figure of a result shown in the report.
type metric struct {
	name string
	get  func(benchResult) float64
	// throughput metrics mean nothing for a fixed-rate workload.
	throughput bool
}

// reportMetrics lists the figures the results table shows, in order.
func reportMetrics() []metric {
	return []metric{
		{name: "MiB/s", get: func(r benchResult) float64 { return r.MiBPerSec }, throughput: true},
		{name: "records/s", get: func(r benchResult) float64 { return r.RecordsPerSec }, throughput: true},
		{name: "p50 ms", get: func(r benchResult) float64 { return r.P50Ms }},
		{name: "p99 ms", get: func(r benchResult) float64 { return r.P99Ms }},
		{name: "p99.9 ms", get: func(r benchResult) float64 { return r.P999Ms }},
		{name: "max ms", get: func(r benchResult) float64 { return r.MaxMs }},
	}
}

// table is a report table that renders as aligned text or markdown.
type table struct {
	title   string
	headers []string
	rows    [][]string
}

func (t *table) write(out io.Writer, markdown bool) {
	if markdown {
		fmt.Fprintf(out, "\n### %s\n\n", t.title)
		fmt.Fprintf(out, "| %s |\n", strings.Join(t.headers, " | "))
		seps := make([]string, len(t.headers))
		for i := range seps {
			seps[i] = "---"
		}
		fmt.Fprintf(out, "|%s|\n", strings.Join(seps, "|"))
		for _, row := range t.rows {
			fmt.Fprintf(out, "| %s |\n", strings.Join(row, " | "))
		}
		return
	}
	fmt.Fprintf(out, "\n%s\n", t.title)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(t.headers, "\t"))
	for _, row := range t.rows {
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	w.Flush()
}

// resultsTable compares the brokers per workload and metric: medians over
// the rounds, ranges, and the Samsa/kfake ratio of the medians.
func resultsTable(workloads []workload, runs []runRecord, brokers []string) table {
	t := table{title: "Results (median over rounds, [min – max]; ratio = Samsa median / kfake median)"}
	t.headers = []string{"workload", "metric"}
	for _, b := range brokers {
		t.headers = append(t.headers, b, b+" range")
	}
	t.headers = append(t.headers, "ratio")
	for _, w := range workloads {
		byBroker := map[string][]benchResult{}
		failures := map[string]int{}
		for _, r := range runs {
			if r.Workload != w.name {
				continue
			}
			if r.Result == nil {
				failures[r.Broker]++
				continue
			}
			byBroker[r.Broker] = append(byBroker[r.Broker], *r.Result)
		}
		for _, m := range reportMetrics() {
			if m.throughput && w.latencyOnly {
				continue
			}
			row := []string{w.name, m.name}
			spreads := make([]spread, len(brokers))
			for i, b := range brokers {
				values := make([]float64, 0, len(byBroker[b]))
				for _, r := range byBroker[b] {
					values = append(values, m.get(r))
				}
				spreads[i] = summarize(values)
				row = append(row, formatFigure(spreads[i]), formatRange(spreads[i]))
			}
			if q, ok := ratio(spreads[0], spreads[len(spreads)-1]); ok && len(spreads) > 1 {
				row = append(row, fmt.Sprintf("%.2f", q))
			} else {
				row = append(row, "–")
			}
			t.rows = append(t.rows, row)
		}
		row := []string{w.name, "errors / failed runs"}
		for _, b := range brokers {
			var errs int64
			for _, r := range byBroker[b] {
				errs += r.Errors
			}
			row = append(row, fmt.Sprintf("%d / %d", errs, failures[b]), "")
		}
		t.rows = append(t.rows, append(row, ""))
	}
	return t
}

// cpuTable shows, per workload, the median CPU seconds of each broker and
// of the load generator driving it, and the Samsa/kfake ratio of broker CPU
// per record (a workload of fixed duration moves more records on the faster
// broker, so the ratio is per record, not per run).
func cpuTable(workloads []workload, runs []runRecord, brokers []string) table {
	t := table{title: "CPU seconds per run (median over rounds; broker = utime + stime during the run, client = the load generator)"}
	t.headers = []string{"workload"}
	for _, b := range brokers {
		t.headers = append(t.headers, b+" broker", b+" client")
	}
	t.headers = append(t.headers, "broker CPU per record ratio")
	for _, w := range workloads {
		row := []string{w.name}
		perRecord := make([]spread, len(brokers))
		for i, b := range brokers {
			var broker, client, per []float64
			for _, r := range runs {
				if r.Workload != w.name || r.Broker != b || r.Result == nil {
					continue
				}
				broker = append(broker, r.BrokerCPUSeconds)
				client = append(client, r.ClientCPUSeconds)
				if r.Result.Records > 0 {
					per = append(per, r.BrokerCPUSeconds/float64(r.Result.Records))
				}
			}
			perRecord[i] = summarize(per)
			row = append(row, formatFigure(summarize(broker)), formatFigure(summarize(client)))
		}
		if q, ok := ratio(perRecord[0], perRecord[len(perRecord)-1]); ok && len(perRecord) > 1 {
			row = append(row, fmt.Sprintf("%.2f", q))
		} else {
			row = append(row, "–")
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// usageTable lists each broker process's peak RSS and CPU time per round.
func usageTable(usages []usageRecord) table {
	t := table{
		title:   "Broker resources per round (peak RSS = VmHWM; CPU = utime + stime)",
		headers: []string{"round", "phase", "broker", "peak RSS MiB", "CPU s"},
	}
	for _, u := range usages {
		if u.Failure != "" {
			t.rows = append(t.rows, []string{fmt.Sprint(u.Round), u.Phase, u.Broker, "–", "– (" + u.Failure + ")"})
			continue
		}
		t.rows = append(t.rows, []string{
			fmt.Sprint(u.Round), u.Phase, u.Broker,
			fmt.Sprintf("%.0f", float64(u.PeakRSSBytes)/(1<<20)),
			fmt.Sprintf("%.2f", u.CPUSeconds),
		})
	}
	return t
}

// formatFigure prints a median with precision that suits its size.
func formatFigure(s spread) string {
	if s.n == 0 {
		return "–"
	}
	return formatNumber(s.median)
}

func formatRange(s spread) string {
	if s.n == 0 {
		return ""
	}
	return fmt.Sprintf("[%s – %s]", formatNumber(s.low), formatNumber(s.high))
}

func formatNumber(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}
