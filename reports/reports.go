// Package reports writes the outputs of a scenario run: metrics.json (a
// versioned document, docs/metrics-json.md), metrics.csv (one row per
// metric and node group) and junit.xml (one test case per assertion).
//
// Every writer is a pure function of its Report: the same run gives the
// same bytes, except the wall-time fields of metrics.json and the time
// attributes of junit.xml.
package reports

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"mattersim/scenarios"
	"mattersim/scenarios/metrics"
)

// SchemaVersion is the version of the metrics.json document. It changes
// when a field changes meaning or goes away; new fields may appear
// without a change.
const SchemaVersion = 1

// Report is everything the writers need about one run.
type Report struct {
	Scenario, Source string
	Seed             uint64
	// Network is the network mode that ran: netstack or direct.
	Network    string
	Parameters map[string]string
	// Version is mattersim's version (module version and VCS revision).
	Version         string
	BuildWall, Wall time.Duration
	Virtual         time.Duration
	Events          uint64
	Interrupted     bool
	Verdicts        []scenarios.Verdict
	Metrics         metrics.Snapshot
}

// Failed returns the assertions that do not hold.
func (r *Report) Failed() []scenarios.Verdict {
	var out []scenarios.Verdict
	for _, v := range r.Verdicts {
		if !v.Holds {
			out = append(out, v)
		}
	}
	return out
}

// jsonDoc is metrics.json.
type jsonDoc struct {
	SchemaVersion int                   `json:"schema_version"`
	Scenario      string                `json:"scenario"`
	Source        string                `json:"source"`
	Seed          uint64                `json:"seed"`
	Network       string                `json:"network"`
	Parameters    map[string]string     `json:"parameters"`
	Version       string                `json:"mattersim_version"`
	Wall          jsonWall              `json:"wall_time"`
	VirtualTime   float64               `json:"virtual_time_s"`
	Events        uint64                `json:"events"`
	Interrupted   bool                  `json:"interrupted"`
	Passed        bool                  `json:"passed"`
	Assertions    []jsonAssertion       `json:"assertions"`
	Groups        []string              `json:"groups"`
	Metrics       map[string]jsonMetric `json:"metrics"`
}

type jsonWall struct {
	Build float64 `json:"build_s"`
	Run   float64 `json:"run_s"`
}

type jsonAssertion struct {
	Assertion string  `json:"assertion"`
	Metric    string  `json:"metric"`
	Op        string  `json:"op"`
	Bound     float64 `json:"bound"`
	Observed  float64 `json:"observed"`
	Unit      string  `json:"unit"`
	Holds     bool    `json:"holds"`
}

type jsonMetric struct {
	Kind   string             `json:"kind"`
	Value  float64            `json:"value"`
	Groups map[string]float64 `json:"groups,omitempty"`
}

// finite keeps NaN and infinities out of JSON (encoding/json refuses
// them); no catalogue metric produces one, so this is a guard.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// Passed reports whether the run ended and every assertion holds.
func (r *Report) Passed() bool { return !r.Interrupted && len(r.Failed()) == 0 }

// WriteJSON writes metrics.json: indented, keys in a fixed order (metrics
// sorted by name).
func (r *Report) WriteJSON(w io.Writer) error {
	doc := jsonDoc{
		SchemaVersion: SchemaVersion,
		Scenario:      r.Scenario,
		Source:        r.Source,
		Seed:          r.Seed,
		Network:       r.Network,
		Parameters:    r.Parameters,
		Version:       r.Version,
		Wall:          jsonWall{Build: r.BuildWall.Seconds(), Run: r.Wall.Seconds()},
		VirtualTime:   r.Virtual.Seconds(),
		Events:        r.Events,
		Interrupted:   r.Interrupted,
		Passed:        r.Passed(),
		Assertions:    []jsonAssertion{},
		Groups:        r.Metrics.Groups,
		Metrics:       make(map[string]jsonMetric, len(r.Metrics.Metrics)),
	}
	if doc.Parameters == nil {
		doc.Parameters = map[string]string{}
	}
	for _, v := range r.Verdicts {
		doc.Assertions = append(doc.Assertions, jsonAssertion{
			Assertion: v.Assertion.Text, Metric: v.Assertion.Ref(), Op: v.Assertion.Op.String(),
			Bound: finite(v.Bound), Observed: finite(v.Observed), Unit: v.Unit(), Holds: v.Holds,
		})
	}
	for _, m := range r.Metrics.Metrics {
		jm := jsonMetric{Kind: m.Kind, Value: finite(m.Value)}
		if len(m.Groups) > 0 {
			jm.Groups = make(map[string]float64, len(m.Groups))
			for i, g := range r.Metrics.Groups {
				jm.Groups[g] = finite(m.Groups[i])
			}
		}
		doc.Metrics[m.Name] = jm
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // assertions hold ">=": keep them readable
	return enc.Encode(doc)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// WriteCSV writes metrics.csv: a header "name,group,value", then every
// metric overall (group empty) followed by its per-group values.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"name", "group", "value"}); err != nil {
		return err
	}
	for _, m := range r.Metrics.Metrics {
		if err := cw.Write([]string{m.Name, "", formatFloat(m.Value)}); err != nil {
			return err
		}
		for i, v := range m.Groups {
			if err := cw.Write([]string{m.Name, r.Metrics.Groups[i], formatFloat(v)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// JUnit XML, as GitLab, Jenkins and GitHub test-report actions read it:
// <testsuites><testsuite name tests failures errors time><testcase
// classname name time><failure message type>text</failure>.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fail    int          `xml:"failures,attr"`
	Errors  int          `xml:"errors,attr"`
	Time    string       `xml:"time,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Fail       int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Time    string        `xml:"time,attr"`
	Failure *junitFailure `xml:"failure,omitempty"`
	Error   *junitFailure `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes junit.xml: one test case per assertion (a failure
// carries the observed value and the bound); an interrupted run adds a
// test case "run completed" with an error, so CI does not take partial
// figures for a pass.
func (r *Report) WriteJUnit(w io.Writer) error {
	total := fmt.Sprintf("%.3f", (r.BuildWall + r.Wall).Seconds())
	s := junitSuite{Name: r.Scenario, Time: total, Properties: []junitProperty{
		{"source", r.Source}, {"seed", strconv.FormatUint(r.Seed, 10)}, {"network", r.Network},
		{"mattersim_version", r.Version}, {"interrupted", strconv.FormatBool(r.Interrupted)},
		{"virtual_time", r.Virtual.String()}, {"events", strconv.FormatUint(r.Events, 10)},
	}}
	for _, k := range sortedKeys(r.Parameters) {
		s.Properties = append(s.Properties, junitProperty{"parameter." + k, r.Parameters[k]})
	}
	class := "mattersim." + r.Scenario
	for _, v := range r.Verdicts {
		c := junitCase{Class: class, Name: v.Assertion.Text, Time: "0"}
		if !v.Holds {
			k := v.Assertion.Metric.Kind
			obs := scenarios.FormatValue(k, v.Observed)
			msg := fmt.Sprintf("%s: observed %s, bound %s %s", v.Assertion.Ref(), obs, v.Assertion.Op, scenarios.FormatValue(k, v.Bound))
			c.Failure = &junitFailure{Message: msg, Type: "AssertionFailed",
				Text: fmt.Sprintf("%s\nobserved: %s (%s)\nbound: %s %s\n", v.Assertion.Text, formatFloat(v.Observed), v.Unit(), v.Assertion.Op, formatFloat(v.Bound))}
			s.Fail++
		}
		s.Cases = append(s.Cases, c)
	}
	if r.Interrupted {
		s.Cases = append(s.Cases, junitCase{Class: class, Name: "run completed", Time: "0",
			Error: &junitFailure{Message: "interrupted at virtual time " + r.Virtual.String(), Type: "Interrupted",
				Text: "the run was interrupted; the assertions were checked on the metrics of the run so far\n"}})
		s.Errors++
	}
	s.Tests = len(s.Cases)
	doc := junitSuites{Name: "mattersim", Tests: s.Tests, Fail: s.Fail, Errors: s.Errors, Time: total, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func sortedKeys(m map[string]string) []string {
	return scenarios.Parameters(m).Sorted()
}
