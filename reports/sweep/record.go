package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"mattersim/reports"
	"mattersim/scenarios"
)

// Record is what the aggregate reads of one run: its seed, parameters,
// overall metric values and assertion outcomes, as decoded from the run's
// metrics.json (README "Flags, outputs and exit status").
type Record struct {
	Seed       uint64
	Parameters map[string]string
	Metrics    map[string]float64
	Assertions []RecordAssertion
}

// RecordAssertion is one assertion's outcome in a run.
type RecordAssertion struct {
	Text  string
	Holds bool
}

// runJSON writes the run's metrics.json, as mattersim run writes it.
func runJSON(r *Run, s *scenarios.Scenario, sum scenarios.Summary, vs []scenarios.Verdict, version string) ([]byte, error) {
	rep := &reports.Report{Scenario: s.Name, Source: s.Source(), Seed: r.Seed,
		Parameters: s.Parameters, Version: version, BuildWall: sum.BuildWall, Wall: sum.Wall,
		Virtual: sum.Virtual, Events: sum.Events, Verdicts: vs, Metrics: sum.Metrics}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type recordDoc struct {
	Seed       uint64            `json:"seed"`
	Parameters map[string]string `json:"parameters"`
	Assertions []struct {
		Assertion string `json:"assertion"`
		Holds     bool   `json:"holds"`
	} `json:"assertions"`
	Metrics map[string]struct {
		Value *float64 `json:"value"`
	} `json:"metrics"`
}

// ReadRecord decodes a run's metrics.json.
func ReadRecord(data []byte) (Record, error) {
	var doc recordDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return Record{}, fmt.Errorf("metrics.json: %w", err)
	}
	if doc.Metrics == nil {
		return Record{}, fmt.Errorf("metrics.json: no metrics")
	}
	r := Record{Seed: doc.Seed, Parameters: doc.Parameters, Metrics: make(map[string]float64, len(doc.Metrics))}
	for name, m := range doc.Metrics {
		if m.Value == nil {
			return Record{}, fmt.Errorf("metrics.json: metric %s has no value", name)
		}
		r.Metrics[name] = *m.Value
	}
	for _, a := range doc.Assertions {
		r.Assertions = append(r.Assertions, RecordAssertion{Text: a.Assertion, Holds: a.Holds})
	}
	return r, nil
}

// Shard is a slice of a sweep's runs: run i (point-major: point k,
// repetition r is k·reps + r) belongs to shard i mod Count. Dealing the
// runs round-robin spreads every point, cheap or costly, over all shards.
// The zero value (Count 0) is the whole sweep, as is 0/1.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/n" (0 ≤ i < n).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/4 (or auto)", s)
	}
	sh := Shard{Index: i, Count: n}
	if n < 1 {
		return Shard{}, fmt.Errorf("shard %s: want 0 ≤ i < n", s)
	}
	return sh, sh.check()
}

func (s Shard) check() error {
	if s.Count == 0 && s.Index == 0 {
		return nil
	}
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n", s.Index, s.Count)
	}
	return nil
}

// Whole reports whether the shard is the whole sweep (0/0 or 0/1).
func (s Shard) Whole() bool { return s.Count <= 1 }

// Owns reports whether run i (point-major index) belongs to the shard.
func (s Shard) Owns(i int) bool { return s.Whole() || i%s.Count == s.Index }

func (s Shard) String() string {
	if s.Count == 0 {
		return "0/1"
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}
