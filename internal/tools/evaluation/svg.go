package evaluation

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Chart is a plot of series against a shared x axis (time), in panels
// stacked vertically, written as SVG by WriteSVG.
type Chart struct {
	Title  string
	XLabel string
	Panels []Panel
	// Bands shade x ranges across every panel (annotated moves); Marks
	// draw vertical lines across every panel.
	Bands []Band
	Marks []Mark
}

// Panel is one y axis and its series. YMin == YMax: the range fits the
// data.
type Panel struct {
	YLabel     string
	YMin, YMax float64
	Series     []Series
	// Rules are horizontal reference lines.
	Rules []Rule
}

// Series is one named line. NaN values break the line; Dots draws the
// points only (for sparse series).
type Series struct {
	Name string
	X, Y []float64
	Dots bool
}

// Band is a shaded x range with a label.
type Band struct {
	From, To float64
	Label    string
}

// Mark is a vertical line with a label.
type Mark struct {
	X     float64
	Label string
}

// Rule is a horizontal line at Y with an optional label.
type Rule struct {
	Y     float64
	Label string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// Layout of WriteSVG, in pixels.
const (
	svgWidth    = 1000
	panelHeight = 190
	marginLeft  = 70
	marginRight = 280 // the legends
	marginTop   = 40
	panelGap    = 30
	marginBot   = 45
)

// WriteSVG writes c as a standalone SVG document.
func WriteSVG(w io.Writer, c Chart) error {
	var b bytes.Buffer
	height := marginTop + len(c.Panels)*(panelHeight+panelGap) - panelGap + marginBot
	plotW := float64(svgWidth - marginLeft - marginRight)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", marginLeft, esc(c.Title))
	x0, x1 := xRange(c)
	sx := func(x float64) float64 { return marginLeft + (x-x0)/(x1-x0)*plotW }
	for pi, p := range c.Panels {
		top := float64(marginTop + pi*(panelHeight+panelGap))
		y0, y1 := yRange(p)
		sy := func(y float64) float64 { return top + (y1-y)/(y1-y0)*panelHeight }
		for _, bd := range c.Bands {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="#000" fill-opacity="0.07"/>`+"\n",
				sx(bd.From), top, math.Max(1, sx(bd.To)-sx(bd.From)), panelHeight)
			if pi == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" fill="#555">%s</text>`+"\n", sx(bd.From)+1, top+10, esc(bd.Label))
			}
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="none" stroke="#333"/>`+"\n", marginLeft, top, plotW, panelHeight)
		for _, t := range ticks(y0, y1, 5) {
			fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", marginLeft, marginLeft+plotW, sy(t), sy(t))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginLeft-4, sy(t)+4, num(t))
		}
		fmt.Fprintf(&b, `<text transform="translate(14 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", top+panelHeight/2, esc(p.YLabel))
		for _, r := range p.Rules {
			if r.Y < y0 || r.Y > y1 {
				continue
			}
			fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`+"\n", marginLeft, marginLeft+plotW, sy(r.Y), sy(r.Y))
			if r.Label != "" {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555">%s</text>`+"\n", marginLeft+plotW-60, sy(r.Y)-3, esc(r.Label))
			}
		}
		for _, m := range c.Marks {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#000" stroke-width="1.5"/>`+"\n", sx(m.X), sx(m.X), top, top+panelHeight)
			if pi == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9">%s</text>`+"\n", sx(m.X)+2, top+panelHeight-4, esc(m.Label))
			}
		}
		for si, s := range p.Series {
			color := palette[si%len(palette)]
			writeSeries(&b, s, color, sx, sy, y0, y1)
			ly := top + 12 + float64(si)*16
			lx := marginLeft + plotW + 12
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", lx, lx+18, ly-4, ly-4, color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+22, ly, esc(s.Name))
		}
	}
	bottom := float64(marginTop + len(c.Panels)*(panelHeight+panelGap) - panelGap)
	for _, t := range ticks(x0, x1, 10) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", sx(t), bottom+14, num(t))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", marginLeft+plotW/2, bottom+32, esc(c.XLabel))
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writeSeries draws s: a polyline per run of finite points, or dots.
func writeSeries(b *bytes.Buffer, s Series, color string, sx, sy func(float64) float64, y0, y1 float64) {
	fmt.Fprintf(b, `<g class="series" stroke="%s" fill="%s"><title>%s</title>`+"\n", color, color, esc(s.Name))
	var run []string
	flush := func() {
		if len(run) > 0 {
			fmt.Fprintf(b, `<polyline fill="none" stroke-width="1.5" points="%s"/>`+"\n", strings.Join(run, " "))
		}
		run = run[:0]
	}
	for i := range min(len(s.X), len(s.Y)) {
		x, y := s.X[i], s.Y[i]
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(y, 0) {
			flush()
			continue
		}
		y = math.Max(y0, math.Min(y1, y))
		if s.Dots {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3"/>`+"\n", sx(x), sy(y))
			continue
		}
		run = append(run, fmt.Sprintf("%.1f,%.1f", sx(x), sy(y)))
	}
	flush()
	b.WriteString("</g>\n")
}

// xRange is the range of every series' x, and of the bands and marks.
func xRange(c Chart) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	add := func(v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, p := range c.Panels {
		for _, s := range p.Series {
			for _, x := range s.X {
				add(x)
			}
		}
	}
	for _, bd := range c.Bands {
		add(bd.From)
		add(bd.To)
	}
	for _, m := range c.Marks {
		add(m.X)
	}
	return padRange(lo, hi)
}

// yRange is the panel's fixed range, or its data's and rules' with a margin.
func yRange(p Panel) (lo, hi float64) {
	if p.YMax > p.YMin {
		return p.YMin, p.YMax
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for _, y := range s.Y {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				lo, hi = math.Min(lo, y), math.Max(hi, y)
			}
		}
	}
	for _, r := range p.Rules {
		if !math.IsNaN(r.Y) && !math.IsInf(r.Y, 0) {
			lo, hi = math.Min(lo, r.Y), math.Max(hi, r.Y)
		}
	}
	lo, hi = padRange(lo, hi)
	pad := (hi - lo) * 0.05
	return lo - pad, hi + pad
}

// padRange returns a usable range for lo..hi (empty or flat ranges widened).
func padRange(lo, hi float64) (float64, float64) {
	if lo > hi {
		return 0, 1
	}
	if lo == hi {
		return lo - 1, hi + 1
	}
	return lo, hi
}

// ticks returns round values in [lo, hi], about n of them.
func ticks(lo, hi float64, n int) []float64 {
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
	}
	return out
}

func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
