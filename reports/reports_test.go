package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mattersim/scenarios"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// tinyReport runs testdata/tiny.yaml and returns its Report with the wall
// times zeroed (the only fields that vary between runs).
func tinyReport(t *testing.T) *Report {
	t.Helper()
	s, err := scenarios.Load("testdata/tiny.yaml", scenarios.Overrides{})
	require.NoError(t, err)
	d, err := scenarios.NewNet(s, scenarios.RunConfig{})
	require.NoError(t, err)
	sum, err := d.Run()
	require.NoError(t, err)
	vs, err := s.Evaluate(d.Metrics)
	require.NoError(t, err)
	return &Report{Scenario: s.Name, Source: s.Source(), Seed: s.Seed, Network: s.Network.String(), Parameters: s.Parameters,
		Version: "test", Virtual: sum.Virtual, Events: sum.Events, Verdicts: vs, Metrics: sum.Metrics}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "go test ./reports -update writes it")
	require.Equal(t, string(want), string(got), "%s is stale: go test ./reports -update, then read the diff", path)
}

// metrics.json of a tiny run, byte for byte (golden), and the same bytes
// from a second run of the same scenario and seed.
func TestMetricsJSONGolden(t *testing.T) {
	var a, b bytes.Buffer
	require.NoError(t, tinyReport(t).WriteJSON(&a))
	require.NoError(t, tinyReport(t).WriteJSON(&b))
	require.Equal(t, a.String(), b.String(), "deterministic")
	golden(t, "tiny.metrics.json", a.Bytes())

	var doc map[string]any
	require.NoError(t, json.Unmarshal(a.Bytes(), &doc))
	require.EqualValues(t, SchemaVersion, doc["schema_version"])
	require.Equal(t, false, doc["passed"], "reads.sent >= 1000 cannot hold in 5 s")
	as := doc["assertions"].([]any)
	require.Len(t, as, 2)
	require.Equal(t, true, as[0].(map[string]any)["holds"])
	require.Equal(t, false, as[1].(map[string]any)["holds"])
}

// junit.xml: one test case per assertion; the failing one carries the
// observed value and the bound; an interrupted run adds an error case.
func TestJUnit(t *testing.T) {
	r := tinyReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteJUnit(&buf))
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &doc))
	require.Equal(t, 2, doc.Tests)
	require.Equal(t, 1, doc.Fail)
	require.Len(t, doc.Suites, 1)
	cs := doc.Suites[0].Cases
	require.Nil(t, cs[0].Failure)
	require.NotNil(t, cs[1].Failure)
	require.Contains(t, cs[1].Failure.Message, "reads.sent: observed 15, bound >= 1000")
	require.Equal(t, "mattersim.tiny", cs[1].Class)

	r.Interrupted = true
	buf.Reset()
	require.NoError(t, r.WriteJUnit(&buf))
	doc = junitSuites{}
	require.NoError(t, xml.Unmarshal(buf.Bytes(), &doc))
	require.Equal(t, 3, doc.Tests)
	require.Equal(t, 1, doc.Errors)
	require.Equal(t, "run completed", doc.Suites[0].Cases[2].Name)
	require.False(t, r.Passed())
}

// metrics.csv: a header, then every metric overall and per node group.
func TestCSV(t *testing.T) {
	r := tinyReport(t)
	var buf bytes.Buffer
	require.NoError(t, r.WriteCSV(&buf))
	rows, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"name", "group", "value"}, rows[0])
	found := map[string]bool{}
	for _, row := range rows[1:] {
		if row[0] == "reads.sent" {
			found[row[1]] = true
			if row[1] == "" {
				require.Equal(t, "15", row[2])
			}
		}
	}
	require.True(t, found[""], "overall row")
	require.True(t, found["controller"], "per-group row")
}
