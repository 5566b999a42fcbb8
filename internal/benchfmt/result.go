// Package benchfmt is the one-line JSON result `samsa bench` prints for
// scripts, shared by the command that writes it and bench/compare, which
// reads it.
package benchfmt

// Result is one run's outcome. Latencies are in milliseconds; what a latency
// measures depends on the workload (see docs/benchmarks.md).
type Result struct {
	Workload      string  `json:"workload"`
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MiBPerSec     float64 `json:"mib_per_sec"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	P999Ms        float64 `json:"p999_ms"`
	MaxMs         float64 `json:"max_ms"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
}
