// Command plot draws the charts of docs/scale.md from the JSON that the
// scale test writes (go test ./tests/scale -json-out FILE):
//
//	go run ./tests/scale/plot -in docs/scale.json,docs/scale-wave.json -out docs
//
// It writes, for what the file holds: scale-wave.png (refreshes and user
// info calls per second during the refresh wave, against the quota),
// scale-guard.png (p50 of a guarded request against the number
// of stored users, per store, token cached and cache off), scale-get.png
// (the same for the token source's Get, p50 and p99) and scale-memory.png
// (bytes per user of the Memory store and of the token cache).
package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tiktokkit/tiktokkit/tests/scale"
)

func main() {
	in := flag.String("in", "docs/scale.json", "the scale test's JSON output; a comma-separated list is merged")
	out := flag.String("out", "docs", "directory to write the PNG charts to")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	r := &scale.Report{}
	for _, path := range strings.Split(in, ",") {
		part, err := scale.ReadReport(path)
		if err != nil {
			return err
		}
		r.Latency = append(r.Latency, part.Latency...)
		r.Memory = append(r.Memory, part.Memory...)
		r.Waves = append(r.Waves, part.Waves...)
	}
	type chart struct {
		file string
		draw func(*scale.Report) (*plot.Plot, error)
	}
	var charts []chart
	if len(r.Latency) > 0 {
		charts = append(charts, chart{"scale-guard.png", guardChart}, chart{"scale-get.png", getChart})
	}
	if len(r.Memory) > 0 {
		charts = append(charts, chart{"scale-memory.png", memoryChart})
	}
	if len(r.Waves) > 0 {
		charts = append(charts, chart{"scale-wave.png", waveChart})
	}
	for _, c := range charts {
		p, err := c.draw(r)
		if err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(out, c.file)); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
	}
	return nil
}

// storeColor gives each store the same colour in every chart.
var storeColor = map[string]color.Color{
	scale.StoreMemory:   color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	scale.StoreSQLite:   color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
	scale.StorePostgres: color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
	scale.StoreRedis:    color.RGBA{R: 0xe7, G: 0x29, B: 0x8a, A: 0xff},
}

var storeOrder = []string{scale.StoreMemory, scale.StoreSQLite, scale.StorePostgres, scale.StoreRedis}

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "stored users"
	p.Y.Label.Text = ylabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = usersTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// ticks125 marks 1, 2 and 5 times each power of ten on a log axis.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	return out
}

// usersTicks marks the powers of ten on the users axis, written out
// (1,000,000 rather than 1e+06).
type usersTicks struct{}

func (usersTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for e := math.Ceil(math.Log10(lo)); math.Pow(10, e) <= hi*1.0001; e++ {
		v := math.Pow(10, e)
		out = append(out, plot.Tick{Value: v, Label: thousands(int64(math.Round(v)))})
	}
	return out
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plainTicks are the default ticks of a linear axis, labelled without
// trailing zeros.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}

// line adds one series; dashed ones are the second variant of a store.
// Only named series get a legend entry.
func line(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, pts.Color = c, c
	l.Width = vg.Points(1.5)
	pts.Shape = draw.CircleGlyph{}
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		pts.Shape = draw.BoxGlyph{}
	}
	p.Add(l, pts)
	if name != "" {
		p.Legend.Add(name, l, pts)
	}
	return nil
}

// latencyChart draws, per store, two of a Latency's fields against the
// number of users on a log-log chart.
// The legend names the stores; the title says which variant is solid and
// which dashed. With logY the Y axis is logarithmic, else linear from 0;
// either way it leaves room above the lines for the legend.
func latencyChart(r *scale.Report, title string, solid, dashed func(scale.Latency) float64, logY bool) (*plot.Plot, error) {
	p := newPlot(title, "µs")
	hi := 0.0
	lo := math.Inf(1)
	for _, l := range r.Latency {
		hi = max(hi, solid(l), dashed(l))
		lo = min(lo, solid(l), dashed(l))
	}
	if logY {
		p.Y.Label.Text = "µs (log scale)"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = ticks125{}
		p.Y.Min, p.Y.Max = lo/2, hi*30
	} else {
		p.Y.Min, p.Y.Max = 0, hi*1.8
	}
	drawn := 0
	for _, st := range storeOrder {
		var a, b plotter.XYs
		for _, l := range r.Latency {
			if l.Store == st {
				a = append(a, plotter.XY{X: float64(l.Users), Y: solid(l)})
				b = append(b, plotter.XY{X: float64(l.Users), Y: dashed(l)})
			}
		}
		if len(a) == 0 {
			continue
		}
		if err := line(p, st, a, storeColor[st], false); err != nil {
			return nil, err
		}
		if err := line(p, "", b, storeColor[st], true); err != nil {
			return nil, err
		}
		drawn++
	}
	if drawn == 0 {
		return nil, errors.New("no store measured")
	}
	return p, nil
}

func guardChart(r *scale.Report) (*plot.Plot, error) {
	return latencyChart(r, "Guarded request p50 (solid: cache off; dashed: token cached)",
		func(l scale.Latency) float64 { return l.GuardColdP50 },
		func(l scale.Latency) float64 { return l.GuardWarmP50 },
		false)
}

func getChart(r *scale.Report) (*plot.Plot, error) {
	return latencyChart(r, "Token store Get, cache off (solid: p50; dashed: p99)",
		func(l scale.Latency) float64 { return l.GetColdP50 },
		func(l scale.Latency) float64 { return l.GetColdP99 },
		true)
}

func memoryChart(r *scale.Report) (*plot.Plot, error) {
	if len(r.Memory) == 0 {
		return nil, errors.New("no memory measured")
	}
	p := newPlot("Resident bytes per user", "bytes per user")
	p.Legend.Top = false
	var store, cache plotter.XYs
	for _, m := range r.Memory {
		store = append(store, plotter.XY{X: float64(m.Users), Y: m.MemoryStoreBytesPerUser})
		cache = append(cache, plotter.XY{X: float64(m.Users), Y: m.CacheBytesPerUser})
	}
	if err := line(p, "Memory store", store, storeColor[scale.StoreMemory], false); err != nil {
		return nil, err
	}
	if err := line(p, "token cache (one entry per user)", cache, storeColor[scale.StorePostgres], true); err != nil {
		return nil, err
	}
	hi := 0.0
	for _, m := range r.Memory {
		hi = max(hi, m.MemoryStoreBytesPerUser, m.CacheBytesPerUser)
	}
	p.Y.Min, p.Y.Max = 0, hi*1.2
	return p, nil
}

// rate counts times into bins of width seconds and returns the rate per
// second of each bin, at the bin's middle.
func rate(times []float64, width, until float64) plotter.XYs {
	bins := make([]float64, int(math.Ceil(until/width)))
	for _, t := range times {
		if i := int(t / width); i < len(bins) {
			bins[i]++
		}
	}
	xys := make(plotter.XYs, len(bins))
	for i, c := range bins {
		xys[i] = plotter.XY{X: (float64(i) + 0.5) * width, Y: c / width}
	}
	return xys
}

// waveChart draws, per store, the refreshes and user info calls per second
// of the refresh wave in bins of one quota window, and the quota's rate.
func waveChart(r *scale.Report) (*plot.Plot, error) {
	p := plot.New()
	w0 := r.Waves[0]
	p.Title.Text = fmt.Sprintf("Refresh wave: %s of %s users expire at once, %d instances", thousands(int64(w0.WaveUsers)), thousands(int64(w0.Users)), w0.Instances)
	p.X.Label.Text = "seconds since the tokens expired"
	p.Y.Label.Text = "per second (in bins of one quota window)"
	p.Legend.Top = true
	p.Y.Tick.Marker = plainTicks{}
	p.X.Tick.Marker = plainTicks{}
	p.Add(plotter.NewGrid())
	until, hi := 0.0, 0.0
	for _, w := range r.Waves {
		until = max(until, math.Ceil(w.Seconds/w.QuotaWindowSeconds)*w.QuotaWindowSeconds)
	}
	for _, w := range r.Waves {
		width := w.QuotaWindowSeconds
		refr := rate(w.RefreshTimes, width, until)
		calls := rate(w.CallTimes, width, until)
		for _, xy := range append(refr, calls...) {
			hi = max(hi, xy.Y)
		}
		if err := line(p, w.Store+": refreshes/s", refr, storeColor[w.Store], true); err != nil {
			return nil, err
		}
		if err := line(p, w.Store+": user info calls/s", calls, storeColor[w.Store], false); err != nil {
			return nil, err
		}
	}
	q := float64(w0.QuotaLimit) / w0.QuotaWindowSeconds
	ql, err := plotter.NewLine(plotter.XYs{{X: 0, Y: q}, {X: until, Y: q}})
	if err != nil {
		return nil, err
	}
	ql.Color = color.Black
	ql.Width = vg.Points(1)
	ql.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(ql)
	p.Legend.Add(fmt.Sprintf("user info quota: %d per %gs", w0.QuotaLimit, w0.QuotaWindowSeconds), ql)
	p.X.Min, p.X.Max = 0, until
	p.Y.Min, p.Y.Max = 0, max(hi, q)*1.9
	return p, nil
}
