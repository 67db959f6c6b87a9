// Command plot draws the charts of docs/scale.md from the JSON that the
// scale test writes (go test ./tests/scale -json-out FILE):
//
//	go run ./tests/scale/plot -in docs/scale.json -out docs
//
// It writes scale-guard.png (p50 of a guarded request against the number
// of stored users, per store, token cached and cache off), scale-get.png
// (the same for the token source's Get, p50 and p99) and scale-memory.png
// (bytes per user of the Memory store and of the token cache).
package main

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tiktokkit/tiktokkit/tests/scale"
)

func main() {
	in := flag.String("in", "docs/scale.json", "the scale test's JSON output")
	out := flag.String("out", "docs", "directory to write the PNG charts to")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	r, err := scale.ReadReport(in)
	if err != nil {
		return err
	}
	charts := []struct {
		file string
		draw func(*scale.Report) (*plot.Plot, error)
	}{
		{"scale-guard.png", guardChart},
		{"scale-get.png", getChart},
		{"scale-memory.png", memoryChart},
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
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// line adds one series; dashed ones are the second variant of a store.
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
	p.Legend.Add(name, l, pts)
	return nil
}

// latencyChart draws, per store, two of a Latency's fields against the
// number of users on a log-log chart.
func latencyChart(r *scale.Report, title string, solid, dashed func(scale.Latency) float64, solidName, dashedName string) (*plot.Plot, error) {
	p := newPlot(title, "µs (log scale)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
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
		if err := line(p, st+", "+solidName, a, storeColor[st], false); err != nil {
			return nil, err
		}
		if err := line(p, st+", "+dashedName, b, storeColor[st], true); err != nil {
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
	return latencyChart(r, "Guarded request p50 against stored users",
		func(l scale.Latency) float64 { return l.GuardColdP50 },
		func(l scale.Latency) float64 { return l.GuardWarmP50 },
		"cache off", "token cached")
}

func getChart(r *scale.Report) (*plot.Plot, error) {
	return latencyChart(r, "Token store Get (cache off) against stored users",
		func(l scale.Latency) float64 { return l.GetColdP50 },
		func(l scale.Latency) float64 { return l.GetColdP99 },
		"p50", "p99")
}

func memoryChart(r *scale.Report) (*plot.Plot, error) {
	if len(r.Memory) == 0 {
		return nil, errors.New("no memory measured")
	}
	p := newPlot("Resident bytes per user", "bytes per user")
	p.Y.Min = 0
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
	return p, nil
}
