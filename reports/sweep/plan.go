package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mattersim/scenarios"
)

// PlanSchemaVersion is the version of sweep.json's layout.
const PlanSchemaVersion = 1

// PlanFile is the plan's file name in a sweep's output directory.
const PlanFile = "sweep.json"

// Plan is sweep.json: what a sweep (or one shard of it) ran, enough for
// merge to check that shards belong together and to rebuild the
// aggregate. Every field but Shard and Runs is the same in every shard of
// one sweep.
type Plan struct {
	SchemaVersion int    `json:"schema_version"`
	Scenario      string `json:"scenario"`
	Source        string `json:"source"`
	// Digest is the scenario file's (scenarios.File.Digest).
	Digest string `json:"scenario_digest"`
	// Set, CI and Force are the overrides every run had (--set, --ci,
	// --force).
	Set   map[string]string `json:"set"`
	CI    bool              `json:"ci"`
	Force bool              `json:"force"`
	// Network is the network mode every run had (the scenario's
	// network: or --network): shards in different modes are not one sweep.
	Network string `json:"network"`
	// Seed is the base seed the runs' seeds derive from (Seed).
	Seed uint64 `json:"seed"`
	Axes []Axis `json:"axes"`
	Reps int    `json:"reps"`
	// Aggregate holds the aggregate assertions, as written.
	Aggregate []string `json:"aggregate"`
	Version   string   `json:"mattersim_version"`
	Shard     Shard    `json:"shard"`
	// Runs names the runs in this output (runs/NAME/metrics.json), in
	// point-major order.
	Runs []string `json:"runs"`
}

// MarshalJSON writes an axis as {"param": ..., "values": [...]}.
func (a Axis) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Param  string   `json:"param"`
		Values []string `json:"values"`
	}{a.Param, a.Values})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *Axis) UnmarshalJSON(b []byte) error {
	var v struct {
		Param  string   `json:"param"`
		Values []string `json:"values"`
	}
	err := json.Unmarshal(b, &v)
	a.Param, a.Values = v.Param, v.Values
	return err
}

// MarshalJSON writes a shard as {"index": i, "count": n}.
func (s Shard) MarshalJSON() ([]byte, error) {
	if s.Count == 0 {
		s.Count = 1
	}
	return fmt.Appendf(nil, `{"index":%d,"count":%d}`, s.Index, s.Count), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Shard) UnmarshalJSON(b []byte) error {
	var v struct{ Index, Count int }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Shard{Index: v.Index, Count: v.Count}
	return s.check()
}

// NewPlan returns the plan of shard sh of a sweep: the runs it owns.
func NewPlan(p Plan, sh Shard) Plan {
	p.SchemaVersion = PlanSchemaVersion
	if sh.Count == 0 {
		sh.Count = 1
	}
	p.Shard = sh
	if p.Set == nil {
		p.Set = map[string]string{}
	}
	if p.Aggregate == nil {
		p.Aggregate = []string{}
	}
	p.Runs = []string{}
	n := len(Grid(p.Axes))
	for k := range n {
		for r := range p.Reps {
			if sh.Owns(k*p.Reps + r) {
				p.Runs = append(p.Runs, RunName(k, r))
			}
		}
	}
	return p
}

// WriteJSON writes sweep.json.
func (p Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}

// ReadPlan reads DIR/sweep.json.
func ReadPlan(dir string) (Plan, error) {
	data, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if errors.Is(err, os.ErrNotExist) {
		return Plan{}, fmt.Errorf("%s: no %s: not the output of mattersim sweep", dir, PlanFile)
	}
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Plan{}, fmt.Errorf("%s: %w", filepath.Join(dir, PlanFile), err)
	}
	if p.SchemaVersion != PlanSchemaVersion {
		return Plan{}, fmt.Errorf("%s: schema_version %d, this mattersim reads %d", filepath.Join(dir, PlanFile), p.SchemaVersion, PlanSchemaVersion)
	}
	if p.Reps < 1 || len(p.Axes) == 0 {
		return Plan{}, fmt.Errorf("%s: no axes or no repetitions", filepath.Join(dir, PlanFile))
	}
	return p, nil
}

// differ names the first field in which two plans of one sweep differ,
// with both values, or returns "".
func differ(a, b Plan) string {
	j := func(v any) string { s, _ := json.Marshal(v); return string(s) }
	for _, f := range []struct {
		name string
		x, y any
	}{
		{"scenario digest", a.Digest, b.Digest},
		{"scenario", a.Scenario, b.Scenario},
		{"seed", a.Seed, b.Seed},
		{"axes", j(a.Axes), j(b.Axes)},
		{"reps", a.Reps, b.Reps},
		{"--set", j(a.Set), j(b.Set)},
		{"--ci", a.CI, b.CI},
		{"--force", a.Force, b.Force},
		{"network mode", a.Network, b.Network},
		{"aggregate assertions", j(a.Aggregate), j(b.Aggregate)},
		{"mattersim version", a.Version, b.Version},
		{"shard count", a.Shard.Count, b.Shard.Count},
	} {
		if fmt.Sprint(f.x) != fmt.Sprint(f.y) {
			return fmt.Sprintf("%s (%v vs %v)", f.name, f.x, f.y)
		}
	}
	return ""
}

// Merged is the result of reading shard outputs back: the plan of the
// whole sweep, where every run's metrics.json is, in point-major order,
// and the aggregate built from them.
type Merged struct {
	Plan   Plan
	Paths  []string // by run, point-major: DIR/runs/RunName(k, r)/metrics.json
	Result *Result
}

// MergeDirs reads the outputs of a sweep's shards (or of a whole sweep)
// and aggregates them. It refuses, with one line, shards of different
// sweeps, a shard given twice or runs that two outputs both hold, and
// missing shards or runs (naming them).
func MergeDirs(dirs []string) (*Merged, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merge: no shard directories")
	}
	plans := make([]Plan, len(dirs))
	for i, d := range dirs {
		p, err := ReadPlan(d)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		plans[i] = p
		if why := differ(plans[0], p); why != "" {
			return nil, fmt.Errorf("merge: %s and %s are not shards of one sweep: different %s", dirs[0], d, why)
		}
	}
	p0 := plans[0]
	grid := Grid(p0.Axes)
	total := len(grid) * p0.Reps
	owner := make([]int, total) // index into dirs + 1; 0: none
	byName := make(map[string]int, total)
	for k := range grid {
		for r := range p0.Reps {
			byName[RunName(k, r)] = k*p0.Reps + r
		}
	}
	seenShard := map[int]int{}
	for i, p := range plans {
		if j, dup := seenShard[p.Shard.Index]; dup {
			return nil, fmt.Errorf("merge: %s and %s are both shard %s", dirs[j], dirs[i], p.Shard)
		}
		seenShard[p.Shard.Index] = i
		for _, name := range p.Runs {
			idx, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("merge: %s: run %s is not in the grid (%d points × %d reps)", dirs[i], name, len(grid), p0.Reps)
			}
			if owner[idx] != 0 {
				return nil, fmt.Errorf("merge: run %s is in both %s and %s", name, dirs[owner[idx]-1], dirs[i])
			}
			owner[idx] = i + 1
		}
	}
	var missing []string
	for idx, o := range owner {
		if o == 0 {
			missing = append(missing, RunName(idx/p0.Reps, idx%p0.Reps))
		}
	}
	if len(missing) > 0 {
		var shards []string
		for s := range p0.Shard.Count {
			if _, ok := seenShard[s]; !ok {
				shards = append(shards, fmt.Sprintf("%d/%d", s, p0.Shard.Count))
			}
		}
		why := ""
		if len(shards) > 0 {
			why = " (shards " + strings.Join(shards, ", ") + " not given)"
		}
		return nil, fmt.Errorf("merge: %d of %d runs missing%s: %s", len(missing), total, why, abbreviate(missing))
	}
	m := &Merged{Paths: make([]string, total)}
	recs := make([]Record, total)
	var unreadable []string
	var firstErr error
	for idx, o := range owner {
		k, r := idx/p0.Reps, idx%p0.Reps
		path := filepath.Join(dirs[o-1], "runs", RunName(k, r), "metrics.json")
		data, err := os.ReadFile(path)
		if err == nil {
			recs[idx], err = ReadRecord(data)
		}
		if err == nil {
			err = checkRecord(recs[idx], grid[k], p0.Axes)
		}
		if err != nil {
			unreadable = append(unreadable, RunName(k, r))
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", path, err)
			}
			continue
		}
		m.Paths[idx] = path
	}
	if len(unreadable) > 0 {
		return nil, fmt.Errorf("merge: %d of %d runs missing or unreadable: %s (first: %v)", len(unreadable), total, abbreviate(unreadable), firstErr)
	}
	checks := make([]scenarios.AggregateAssertion, len(p0.Aggregate))
	for i, text := range p0.Aggregate {
		a, err := scenarios.ParseAggregateAssertion(text)
		if err != nil {
			return nil, fmt.Errorf("merge: %s: aggregate: %w", filepath.Join(dirs[0], PlanFile), err)
		}
		checks[i] = a
	}
	res, err := Aggregate(p0.Axes, p0.Reps, recs, checks)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	m.Result = res
	m.Plan = NewPlan(p0, Shard{})
	return m, nil
}

// checkRecord checks that a run's parameters hold its point's values.
func checkRecord(r Record, p Point, axes []Axis) error {
	for _, a := range axes {
		if got := r.Parameters[a.Param]; got != p.Values[a.Param] {
			return fmt.Errorf("parameter %s is %q, the point's value is %q", a.Param, got, p.Values[a.Param])
		}
	}
	return nil
}

// abbreviate lists names, the first 20 and a count of the rest.
func abbreviate(names []string) string {
	if len(names) <= 20 {
		return strings.Join(names, " ")
	}
	return strings.Join(names[:20], " ") + fmt.Sprintf(" ... and %d more", len(names)-20)
}
