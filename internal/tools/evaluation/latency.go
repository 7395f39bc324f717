package evaluation

import (
	"slices"
	"time"
)

// Latency summarises repeated timings, in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Mean float64 `json:"mean_ms"`
}

// Summarise gives the count, median, 99th percentile and mean of timings.
func Summarise(d []time.Duration) Latency {
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	ms := func(v time.Duration) float64 { return float64(v.Microseconds()) / 1000 }
	return Latency{N: len(s), P50: ms(s[len(s)/2]), P99: ms(s[min(len(s)-1, len(s)*99/100)]), Mean: ms(sum / time.Duration(len(s)))}
}

// Round3 rounds a non-negative figure to three decimals for reports.
func Round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
