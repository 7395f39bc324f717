package liveness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/facelambda/facelambda/internal/dataset"
	"github.com/facelambda/facelambda/internal/decode"
	"github.com/facelambda/facelambda/internal/engine"
	"github.com/facelambda/facelambda/internal/geometry"
)

type exploreRow struct {
	Path, Group, Type string
	Attack, Failed    bool
	Box               geometry.Box
	Scores            map[string]float64
}

func TestExplore(t *testing.T) {
	root := os.Getenv("LIV_EXPLORE")
	if root == "" {
		t.Skip("LIV_EXPLORE not set")
	}
	cache := "/tmp/liv_explore.json"
	var rows []exploreRow
	if b, err := os.ReadFile(cache); err == nil {
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("LIV_REFRESH") != "" {
		cfg := engine.ConfigFromEnv()
		eng, err := engine.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		fr, v2, v1 := l.Models["liveness"], l.Models["minifasnet-v2"], l.Models["minifasnet-v1se"]
		type trial struct {
			name string
			m    Model
			spec Spec
		}
		var trials []trial
		frs := func(c Crop, flip, smooth bool, ch string) Spec {
			return Spec{Name: "fr", Size: 128, Crop: c, Channels: ch, Live: 0, Weight: 1, Flip: flip, Smooth: smooth}
		}
		mfs := func(c Crop, flip, smooth bool) Spec {
			return Spec{Name: "mf", Size: 80, Crop: c, Channels: "BGR", Live: 1, Weight: 1, Flip: flip, Smooth: smooth}
		}
		for _, sc := range []float64{2.2, 2.7, 3.2} {
			for _, mode := range []CropMode{CropClamp, CropPad, CropShift} {
				for _, sm := range []bool{false, true} {
					n := fmt.Sprintf("fr_sq_%s_%.1f", mode, sc)
					if sm {
						n += "_smooth"
					}
					trials = append(trials, trial{n, fr, frs(Crop{Scale: sc, Square: true, Mode: mode}, false, sm, "BGR")})
				}
			}
		}
		trials = append(trials,
			trial{"fr_box_shift_2.7", fr, frs(Crop{Scale: 2.7, Mode: CropShift}, false, false, "BGR")},
			trial{"fr_sq_clamp_2.7_rgb", fr, frs(Crop{Scale: 2.7, Square: true, Mode: CropClamp}, false, false, "RGB")},
			trial{"fr_sq_clamp_2.7_flip", fr, frs(Crop{Scale: 2.7, Square: true, Mode: CropClamp}, true, false, "BGR")},
			trial{"fr_sq_clamp_2.7_smooth_flip", fr, frs(Crop{Scale: 2.7, Square: true, Mode: CropClamp}, true, true, "BGR")},
			trial{"fr_sq_shift_2.7_flip", fr, frs(Crop{Scale: 2.7, Square: true, Mode: CropShift}, true, false, "BGR")},
			trial{"fr_box_shift_2.7_flip", fr, frs(Crop{Scale: 2.7, Mode: CropShift}, true, false, "BGR")},
			trial{"fr_box_shift_2.7_smooth", fr, frs(Crop{Scale: 2.7, Mode: CropShift}, false, true, "BGR")},
			trial{"fr_box_shift_2.2", fr, frs(Crop{Scale: 2.2, Mode: CropShift}, false, false, "BGR")},
			trial{"fr_box_shift_3.2", fr, frs(Crop{Scale: 3.2, Mode: CropShift}, false, false, "BGR")},
			trial{"fr_box_shift_2.7_rgb", fr, frs(Crop{Scale: 2.7, Mode: CropShift}, false, false, "RGB")},
			trial{"fr_box_clamp_2.7", fr, frs(Crop{Scale: 2.7, Mode: CropClamp}, false, false, "BGR")},
		)
		for i := range trials[:len(trials)] {
			if trials[i].spec.Channels == "" {
				trials[i].spec.Channels = "BGR"
			}
		}
		for _, m := range []struct {
			n  string
			m  Model
			sc float64
		}{{"v2", v2, 2.7}, {"v1", v1, 4.0}} {
			for _, sm := range []bool{false, true} {
				for _, sq := range []bool{false, true} {
					n := fmt.Sprintf("%s_shift", m.n)
					if sq {
						n += "_sq"
					}
					if sm {
						n += "_smooth"
					}
					trials = append(trials, trial{n, m.m, mfs(Crop{Scale: m.sc, Square: sq, Mode: CropShift}, false, sm)})
				}
			}
			trials = append(trials, trial{m.n + "_shift_flip", m.m, mfs(Crop{Scale: m.sc, Mode: CropShift}, true, false)})
			trials = append(trials, trial{m.n + "_shift_smooth_flip", m.m, mfs(Crop{Scale: m.sc, Mode: CropShift}, true, true)})
		}
		if os.Getenv("LIV_ONLY") != "" {
			keep := map[string]bool{}
			for _, n := range strings.Split(os.Getenv("LIV_ONLY"), ",") {
				keep[n] = true
			}
			var k []trial
			for _, tr := range trials {
				if keep[tr.name] {
					k = append(k, tr)
				}
			}
			trials = k
		}
		old := map[string]map[string]float64{}
		for _, r := range rows {
			old[r.Path] = r.Scores
		}
		rows = nil
		labels, err := dataset.ReadTSV(filepath.Join(root, "labels.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range labels {
			row := exploreRow{Path: r["path"], Group: r["group"], Type: r["attack_type"], Attack: r["label"] == "attack", Scores: map[string]float64{}}
			for k, v := range old[r["path"]] {
				row.Scores[k] = v
			}
			b, err := os.ReadFile(filepath.Join(root, r["path"]))
			if err != nil {
				t.Fatal(err)
			}
			res, err := decode.Decode(b, decode.Options{})
			if err != nil {
				t.Fatal(err)
			}
			dets, err := eng.Detect(res.Image)
			if err != nil {
				t.Fatal(err)
			}
			if len(dets) == 0 {
				row.Failed = true
				rows = append(rows, row)
				continue
			}
			row.Box = dets[eng.Subject(dets)].Box
			for _, tr := range trials {
				s, err := NewScorer(tr.spec, tr.m)
				if err != nil {
					t.Fatal(err)
				}
				v, err := s.Score(res.Image, row.Box)
				if err != nil {
					t.Fatal(err)
				}
				row.Scores[tr.name] = v
			}
			rows = append(rows, row)
			if i%50 == 0 {
				fmt.Fprintf(os.Stderr, "%d/%d\n", i, len(labels))
			}
		}
		b, _ := json.Marshal(rows)
		_ = os.WriteFile(cache, b, 0o644)
	}
	// Analysis.
	names := map[string]bool{}
	for _, r := range rows {
		for k := range r.Scores {
			names[k] = true
		}
	}
	fused := func(parts map[string]float64) []Sample {
		var out []Sample
		for _, r := range rows {
			s := Sample{Attack: r.Attack, Type: r.Type, Group: r.Group, Failed: r.Failed}
			var sum, w float64
			for k, wt := range parts {
				sum += wt * r.Scores[k]
				w += wt
			}
			if !r.Failed {
				s.Score = sum / w
			}
			out = append(out, s)
		}
		return out
	}
	type line struct {
		name string
		s    []Sample
	}
	var lines []line
	var sorted []string
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		lines = append(lines, line{k, fused(map[string]float64{k: 1})})
	}
	if f := os.Getenv("LIV_FUSE"); f != "" {
		for _, spec := range strings.Split(f, ";") {
			parts := map[string]float64{}
			for _, p := range strings.Split(spec, "+") {
				kv := strings.Split(p, "*")
				w := 1.0
				if len(kv) == 2 {
					fmt.Sscanf(kv[1], "%g", &w)
				}
				parts[kv[0]] = w
			}
			lines = append(lines, line{spec, fused(parts)})
		}
	}
	fail := 0
	for _, r := range rows {
		if r.Failed {
			fail++
			fmt.Println("failed:", r.Path, r.Attack)
		}
	}
	fmt.Printf("%-60s %6s %6s %6s %6s | %6s %6s | msuB5 nuaB5\n", "variant", "AUC", "ACER", "B@A5", "B@A1", "msuAUC", "nuaAUC")
	for _, l := range lines {
		acer, _ := BestACER(l.s)
		var msu, nua []Sample
		for _, s := range l.s {
			if s.Group == "msu_mfsd" {
				msu = append(msu, s)
			} else {
				nua = append(nua, s)
			}
		}
		// threshold pooled at APCER 5%, per group BPCER
		thr, _ := ThresholdAtAPCER(l.s, 0.05)
		_ = thr
		tm, _ := ThresholdAtAPCER(msu, 0.05)
		tn, _ := ThresholdAtAPCER(nua, 0.05)
		tb, _ := ThresholdAtAPCER(l.s, 0.02)
		fmt.Printf("%-60s %.4f %.4f %.4f %.4f | %.4f %.4f | msu5->nuaa B %.3f A %.3f | nuaa5->msu B %.3f A %.3f | A2: msu B %.3f A %.3f nuaa B %.3f\n", l.name, AUC(l.s), acer, BPCERAtAPCER(l.s, 0.05), BPCERAtAPCER(l.s, 0.01), AUC(msu), AUC(nua),
			At(nua, tm).BPCER, At(nua, tm).APCER, At(msu, tn).BPCER, At(msu, tn).APCER, At(msu, tb).BPCER, At(msu, tb).APCER, At(nua, tb).BPCER)
	}
}

func TestExploreDist(t *testing.T) {
	b, err := os.ReadFile("/tmp/liv_explore.json")
	if err != nil {
		t.Skip()
	}
	var rows []exploreRow
	_ = json.Unmarshal(b, &rows)
	for _, v := range strings.Split(os.Getenv("LIV_VARS"), ",") {
		fmt.Println("==", v)
		groups := map[string][]float64{}
		for _, r := range rows {
			k := r.Group + "/" + r.Type
			groups[k] = append(groups[k], r.Scores[v])
		}
		var keys []string
		for k := range groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := groups[k]
			sort.Float64s(s)
			q := func(p float64) float64 { return s[int(p*float64(len(s)-1))] }
			fmt.Printf("  %-28s n=%3d min %6.2f p05 %6.2f p25 %6.2f med %6.2f p75 %6.2f p95 %6.2f max %6.2f\n", k, len(s), s[0], q(0.05), q(0.25), q(0.5), q(0.75), q(0.95), s[len(s)-1])
		}
	}
}
