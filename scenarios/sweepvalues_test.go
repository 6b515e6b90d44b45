package scenarios

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpandValues(t *testing.T) {
	for i, tc := range []struct {
		spec string
		want []string
		err  string
	}{
		{spec: "5%", want: []string{"5%"}},                                                                       // 1
		{spec: "5%,10%, 20%", want: []string{"5%", "10%", "20%"}},                                                // 2
		{spec: "0%..45%/5%", want: []string{"0%", "5%", "10%", "15%", "20%", "25%", "30%", "35%", "40%", "45%"}}, // 3
		{spec: "0.1..0.3/0.1", want: []string{"0.1", "0.2", "0.3"}},                                              // 4: exact decimals
		{spec: "100ms..1000ms/300ms", want: []string{"100ms", "400ms", "700ms", "1000ms"}},                       // 5
		{spec: "1..10/4", want: []string{"1", "5", "9"}},                                                         // 6: END not on a step
		{spec: "-1..1/0.5", want: []string{"-1", "-0.5", "0", "0.5", "1"}},                                       // 7
		{spec: "1%,2%..4%/1%,10%", want: []string{"1%", "2%", "3%", "4%", "10%"}},                                // 8
		{spec: "0.25..0.5/0.125", want: []string{"0.25", "0.375", "0.5"}},                                        // 9
		{spec: "5%,,10%", err: "an empty value"},                                                                 // 10
		{spec: "0%..45%", err: "no /STEP"},                                                                       // 11
		{spec: "100ms..1s/100ms", err: "the same unit"},                                                          // 12
		{spec: "0%..45%/0%", err: "STEP must be above 0"},                                                        // 13
		{spec: "45%..0%/5%", err: "END is below START"},                                                          // 14
		{spec: "0..1/0.00001", err: "more than 10000 values"},                                                    // 15
		{spec: "a..b/c", err: "is not a number"},                                                                 // 16
	} {
		got, err := ExpandValues(tc.spec)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "case %d", i+1)
			continue
		}
		require.NoError(t, err, "case %d", i+1)
		require.Equal(t, tc.want, got, "case %d", i+1)
	}
}

// Expanding is idempotent: the values a spec expands to, written back as
// a list, expand to themselves (no value is empty, holds a comma or reads
// as a range), and there are never more than MaxSweepValues.
func FuzzExpandValues(f *testing.F) {
	for _, s := range []string{"5%", "5%,10%", "0%..45%/5%", "0.1..0.3/0.1", "-1..1/0.25", "100ms..1000ms/300ms", "1,2..4/1,x", "0..1/0.00001", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		vs, err := ExpandValues(spec)
		if err != nil {
			return
		}
		if len(vs) == 0 || len(vs) > MaxSweepValues {
			t.Fatalf("%q: %d values", spec, len(vs))
		}
		again, err := ExpandValues(strings.Join(vs, ","))
		if err != nil {
			t.Fatalf("%q expands to %q, which does not expand: %v", spec, vs, err)
		}
		if !slices.Equal(vs, again) {
			t.Fatalf("%q: %q, then %q", spec, vs, again)
		}
	})
}
