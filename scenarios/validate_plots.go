package scenarios

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mattersim/scenarios/metrics"
)

// plots checks the plots: unique names that are not the built-in
// figures', metrics that exist for the kind, and fields that apply to it.
func (c *checker) plots() {
	seen := map[string]string{}
	for i := range c.s.Plots {
		pl := &c.s.Plots[i]
		p := "plots[" + strconv.Itoa(i) + "]"
		if pl.Name != "" && (!plotNameRE.MatchString(pl.Name) || len(pl.Name) > 64) {
			c.errf(p+".name", "%q is not a plot name (lower-case letters, digits, '-', '_'; at most 64)", pl.Name)
		} else if slices.Contains(BuiltinPlots, pl.Name) {
			c.errf(p+".name", "%q is a built-in figure's name (%s)", pl.Name, strings.Join(BuiltinPlots, ", "))
		} else {
			c.unique(p+".name", "plot", pl.Name, seen)
		}
		if n := len(pl.Metrics); (n == 0 && c.written(p+".metrics")) || n > 8 {
			c.errf(p+".metrics", "%d metrics: a plot shows 1 to 8", n)
		}
		if pl.Kind == PlotHistogram && len(pl.Metrics) > 1 {
			c.errf(p+".metrics", "a histogram shows one distribution, got %d (use kind cdf to compare several)", len(pl.Metrics))
		}
		if c.written(p+".x") && pl.Kind != PlotSweep {
			c.errf(p+".x", "x applies to kind sweep only (this is %s)", pl.Kind)
		}
		if c.written(p+".rate") && pl.Kind != PlotMetricVsTime {
			c.errf(p+".rate", "rate applies to kind metric-vs-time only (this is %s)", pl.Kind)
		}
		if pl.X != "" {
			if _, ok := c.s.Parameters[pl.X]; !ok {
				c.errf(p+".x", "no parameter %q: x is a declared parameter that a sweep varies%s", pl.X, c.paramNames())
			}
		}
		for j, ref := range pl.Metrics {
			mp := p + ".metrics[" + strconv.Itoa(j) + "]"
			if why := c.plotMetric(pl, ref); why != "" {
				c.errf(mp, "%s", why)
			}
		}
	}
}

var plotNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// plotMetric says why ref cannot be shown by plot pl, or "".
func (c *checker) plotMetric(pl *Plot, ref string) string {
	switch pl.Kind {
	case PlotHistogram, PlotCDF:
		_, _, group, ok := metrics.LookupDistribution(ref)
		if !ok {
			return "a " + pl.Kind.String() + " shows a distribution: " + strconv.Quote(ref) + " is none (distributions: " + strings.Join(metrics.Distributions(), ", ") + ")"
		}
		return c.groupExists(group)
	case PlotMetricVsTime, PlotSweep:
		d, group, ok := metrics.Lookup(ref)
		if !ok {
			return unknownMetric(ref).Error()
		}
		if pl.Kind == PlotMetricVsTime && strings.HasPrefix(d.Name, "run.") {
			return d.Name + " is known at the end of the run only: it has no value over time"
		}
		if pl.Kind == PlotSweep && group != "" {
			return "a sweep aggregates overall values: drop the {group=" + group + "}"
		}
		if pl.Rate && d.Kind != metrics.Count {
			return "rate: " + d.Name + " is a " + d.Kind.String() + ", not a count"
		}
		return c.groupExists(group)
	}
	return ""
}

func (c *checker) groupExists(group string) string {
	if group != "" && c.s.GroupIndex(group) < 0 {
		return "no node group " + strconv.Quote(group) + c.s.groupList()
	}
	return ""
}

// paramNames lists the declared parameters for an error, or "".
func (c *checker) paramNames() string {
	if len(c.s.Parameters) == 0 {
		return " (the scenario declares none)"
	}
	return " (parameters: " + strings.Join(c.s.Parameters.Sorted(), ", ") + ")"
}
