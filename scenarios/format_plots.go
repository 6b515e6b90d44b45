package scenarios

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/invopop/jsonschema"

	"mattersim/scenarios/metrics"
)

// Plot is a figure a scenario asks for, drawn by reports/plot into
// OUT/plots/NAME.png and NAME.svg and shown in report.html: metric-vs-time
// and histogram/cdf figures by mattersim run, sweep figures by mattersim
// sweep. Every run also draws the built-in figures (BuiltinPlots).
type Plot struct {
	// File name of the figure under plots/ (NAME.png, NAME.svg), unique:
	// lower-case letters, digits, '-' and '_'; not one of the built-in
	// figures' names.
	Name string `yaml:"name" jsonschema:"required,pattern=^[a-z0-9][a-z0-9_-]*$,maxLength=64"`
	// metric-vs-time: the metrics' values over virtual time (sampled on a
	// grid, metrics.Series); histogram or cdf: the distribution of a
	// distribution metric (read_latency, pairing_latency,
	// mrp.transmissions, mcsp.sync_latency, ...); sweep: the metrics' mean
	// with its 95% interval at each value of a swept parameter (mattersim
	// sweep).
	Kind PlotKind `yaml:"kind" jsonschema:"required"`
	// Title of the figure. Absent: made from the kind and the metrics.
	Title string `yaml:"title"`
	// What the figure shows, one line each: metric references as in
	// assertions (reads.answered_ratio, read_latency.p99{group=lights}),
	// distribution names for histogram and cdf (read_latency). 1..8;
	// histogram takes one; sweep takes no {group=} label (a sweep
	// aggregates overall values).
	Metrics []string `yaml:"metrics" jsonschema:"required,minItems=1,maxItems=8"`
	// sweep: the swept parameter on the x axis (a declared parameter);
	// points that differ in other swept parameters are separate lines.
	// Absent: the first --sweep axis.
	X string `yaml:"x"`
	// metric-vs-time: plot count metrics as a rate (events per second in
	// each sampling step) instead of their running total.
	Rate bool `yaml:"rate"`
}

// PlotKind is what a Plot draws.
type PlotKind uint8

// Plot kinds.
const (
	PlotMetricVsTime PlotKind = iota + 1
	PlotHistogram
	PlotCDF
	PlotSweep
)

var plotKindEnum = enum{"plot kind", []string{"", "metric-vs-time", "histogram", "cdf", "sweep"}}

func (k PlotKind) String() string { return plotKindEnum.name(int(k)) }
func (k *PlotKind) setScalar(s scalar) error {
	v, err := plotKindEnum.parse(s)
	*k = PlotKind(v)
	return err
}

// MarshalText writes the kind's name.
func (k PlotKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalYAML reads a plot kind.
func (k *PlotKind) UnmarshalYAML(n ast.Node) error { return unmarshalScalar(n, k) }

// JSONSchema describes the plot kinds.
func (PlotKind) JSONSchema() *jsonschema.Schema { return plotKindEnum.schema("plot kind") }

// BuiltinPlots are the names of the figures every run draws (reports/plot):
// a scenario's plots may not use them.
var BuiltinPlots = []string{"latency-cdf", "mrp-timeline", "window-verdicts", "network-drops"}

// BuiltinTracked are the metrics every run samples over time for the
// built-in figures: MRP retransmissions and give-ups, and every
// reception-window verdict under every policy.
func BuiltinTracked() []string {
	refs := []string{"mrp.retransmissions", "mrp.give_ups"}
	for _, p := range metrics.WindowPolicies {
		for _, v := range metrics.WindowVerdicts {
			refs = append(refs, "window."+p+"."+v)
		}
	}
	return refs
}

// Tracked returns the metrics the run samples over time: BuiltinTracked
// and those of the scenario's metric-vs-time plots.
func (s *Scenario) Tracked() []string {
	refs := BuiltinTracked()
	for _, p := range s.Plots {
		if p.Kind == PlotMetricVsTime {
			refs = append(refs, p.Metrics...)
		}
	}
	return refs
}
