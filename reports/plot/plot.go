// Package plot draws the figures of a run and of a sweep with
// gonum.org/v1/plot, as PNG and SVG, and writes report.html: one
// self-contained page (inline SVG, no script, nothing fetched) with the
// scenario, the run's metadata, its assertions, its figures and its
// metrics.
//
// Every run draws the built-in figures (scenarios.BuiltinPlots): latency
// CDFs per operation, MRP retransmissions and give-ups over time,
// reception-window verdicts per policy over time, and network drops by
// cause; then the metric-vs-time, histogram and cdf figures its scenario
// declares (plots:). A sweep draws the scenario's sweep figures from the
// aggregate (Sweep). A figure with nothing to show is still drawn, saying
// "(no data)" and why; a declared figure that a run or sweep does not draw
// is listed in Set.Skipped with the reason.
//
// Figures are pure functions of their input: the same run gives the same
// SVG and PNG bytes.
package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	stdpng "image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Figure is one drawn figure.
type Figure struct {
	// Name is the file stem (plots/NAME.png, NAME.svg).
	Name  string
	Title string
	// Caption says what the figure shows.
	Caption string
	// NoData: the figure says "(no data)"; Caption says why.
	NoData   bool
	SVG, PNG []byte
}

// Skipped is a declared figure that was not drawn, and why.
type Skipped struct {
	Name, Reason string
}

// Set is the figures of a run or a sweep, in drawing order.
type Set struct {
	Figures []Figure
	Skipped []Skipped
}

// Size of every figure.
const (
	width  = 7 * vg.Inch
	height = 3.5 * vg.Inch
)

// Write writes every figure to dir as NAME.svg and NAME.png, creating
// dir, then removes the figure files of an earlier run or sweep in dir
// that this set does not write (RemoveStale), so a reused --out holds
// only this run's figures.
func (s Set) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range s.Figures {
		for _, out := range []struct {
			ext  string
			data []byte
		}{{".svg", f.SVG}, {".png", f.PNG}} {
			if err := os.WriteFile(filepath.Join(dir, f.Name+out.ext), out.data, 0o644); err != nil {
				return err
			}
		}
	}
	return s.RemoveStale(dir)
}

// figureFile matches the file names Write gives figures: NAME.png and
// NAME.svg, NAME as scenarios.Plot.Name allows it (which the built-in
// figures and a sweep's default "sweep-METRIC" figures follow too).
var figureFile = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*\.(png|svg)$`)

// RemoveStale removes from dir the regular files named as Write names
// figures (figureFile) that are not figures of s: what an earlier run or
// sweep drew there and this one does not. Any other file (another name
// or extension, a subdirectory, a symbolic link) is the user's and stays.
// A missing dir is not an error and is not created.
func (s Set) RemoveStale(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	ours := make(map[string]bool, 2*len(s.Figures))
	for _, f := range s.Figures {
		ours[f.Name+".png"], ours[f.Name+".svg"] = true, true
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || ours[e.Name()] || !figureFile.MatchString(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// draw adds the figure fn draws, or, when fn fails or panics (a bug:
// gonum/plot panics on some degenerate input), a Skipped entry that says
// why, so one bad figure neither loses the others nor goes unreported.
func (s *Set) draw(name string, fn func() (Figure, error)) {
	f, err := func() (f Figure, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return fn()
	}()
	if err != nil {
		s.Skipped = append(s.Skipped, Skipped{name, "could not be drawn: " + err.Error()})
		return
	}
	s.Figures = append(s.Figures, f)
}

// render draws p as SVG and PNG (96 dpi; deflate at best speed: a third
// of the time of the default level, for files about 15% larger).
func render(p *gplot.Plot) (svg, png []byte, err error) {
	wt, err := p.WriterTo(width, height, "svg")
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, nil, err
	}
	svg = b.Bytes()
	c := vgimg.New(width, height)
	p.Draw(draw.New(c))
	var pb bytes.Buffer
	enc := stdpng.Encoder{CompressionLevel: stdpng.BestSpeed}
	if err := enc.Encode(&pb, c.Image()); err != nil {
		return nil, nil, err
	}
	return svg, pb.Bytes(), nil
}

// newPlot returns an empty plot with a title and axis labels.
func newPlot(title, x, y string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// headroom raises the top of p's y range so that a legend of n entries
// at the top sits above the data (about 7% of the height per entry, at
// most half of it).
func headroom(p *gplot.Plot, n int) {
	if n == 0 || !(p.Y.Max > p.Y.Min) {
		return
	}
	free := max(0.5, 1-0.07*float64(n))
	p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)/free
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// (500, not 500.00).
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []gplot.Tick {
	ts := gplot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', 6, 64)
		}
	}
	return ts
}

// figure renders p into a Figure.
func figure(name, title, caption string, p *gplot.Plot) (Figure, error) {
	svg, png, err := render(p)
	if err != nil {
		return Figure{}, fmt.Errorf("plot: %s: %w", name, err)
	}
	return Figure{Name: name, Title: title, Caption: caption, SVG: svg, PNG: png}, nil
}

// noData draws a figure that says "(no data)" and why.
func noData(name, title, why string) (Figure, error) {
	p := gplot.New()
	p.Title.Text = title
	p.HideAxes()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	l, err := plotter.NewLabels(plotter.XYLabels{
		XYs:    []plotter.XY{{X: 0.5, Y: 0.6}, {X: 0.5, Y: 0.4}},
		Labels: []string{"(no data)", why},
	})
	if err != nil {
		return Figure{}, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XCenter
		l.TextStyle[i].YAlign = draw.YCenter
	}
	l.TextStyle[0].Font.Size = vg.Points(16)
	p.Add(l)
	f, err := figure(name, title, "(no data) "+why, p)
	f.NoData = true
	return f, err
}

// style gives line i its colour and, for group k, its dashes.
func style(l *plotter.Line, i, k int) {
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.5)
	l.Dashes = plotutil.Dashes(k)
}

// line returns a styled line through xs, ys.
func line(xs, ys []float64, i, k int) (*plotter.Line, error) {
	pts := make(plotter.XYs, len(xs))
	for j := range xs {
		pts[j] = plotter.XY{X: xs[j], Y: finite(ys[j])}
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	style(l, i, k)
	return l, nil
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// fileStem turns a metric name into part of a file name.
func fileStem(s string) string {
	r := strings.NewReplacer(".", "_", "{", "_", "}", "", "=", "_")
	return r.Replace(s)
}

// plotterColor returns palette colour i.
func plotterColor(i int) color.Color { return plotutil.Color(i) }
