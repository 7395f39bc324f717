package evaluation

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// The passive liveness sources: one capture set (camera and scene) each,
// the unit left out by `eval passive-loso`.
const (
	SourceMSU      = "msu_mfsd"        // pad/: MSU-MFSD first frames (Android phone)
	SourceNUAA     = "nuaa"            // pad/: NUAA webcam frames, hand-held prints
	SourceReplay   = "pad-replay"      // pad-replay/: a third webcam, photos on phone and tablet screens
	SourceWebcam   = "active-webcam"   // active/ zb_* and ls_*: two webcams, phone replays
	SourcePortrait = "active-portrait" // active/ lp_*: portrait video crops, bona fide only
)

// PresentedFacesFile is the annotation file of the attack clips, relative
// to the repository root.
const PresentedFacesFile = "internal/tools/evaluation/testdata/active/passive.tsv"

// PassiveItem is one labelled presentation of the passive sources.
type PassiveItem struct {
	Source string `json:"source"`
	// Path is relative to the data folder (../shared/data).
	Path   string `json:"path"`
	Attack bool   `json:"attack"`
	// Type is the coarse attack type ("print", "replay"; "none" for bona
	// fide) and Detail the source's own label ("replay_ipad", ...).
	Type    string `json:"type"`
	Detail  string `json:"detail"`
	Subject string `json:"subject"`
	// Region, when set, is where the presented face is (fractions of the
	// frame): the detected face whose centre lies inside is scored, and the
	// item is left out when there is none. Otherwise the subject face is
	// scored and a frame without a face counts as failed.
	Region *geometry.Box `json:"region,omitempty"`
}

// coarseType maps a source's attack label to print or replay.
func coarseType(label, typ string) string {
	if label != "attack" {
		return "none"
	}
	t := strings.ToLower(typ)
	switch {
	case strings.HasPrefix(t, "print"):
		return "print"
	case strings.HasPrefix(t, "replay"), strings.Contains(t, "screen"):
		return "replay"
	case strings.Contains(t, "mask"), strings.Contains(t, "cut"):
		return "mask"
	}
	return t
}

// PassiveSourcesConfig says where the passive sources are.
type PassiveSourcesConfig struct {
	// Data is the shared data folder (../shared/data): pad/, pad-replay/
	// and active/ under it; a missing folder is skipped.
	Data string
	// Frames is the annotation file of the attack clips (which part of
	// each frame holds the replayed face).
	Frames string
	// Moves is the move annotation file of the clips (annotations.tsv):
	// the frames of bona fide clips inside a turn or a look up or down are
	// left out, since the passive check scores frames facing the camera
	// only. "" keeps every frame.
	Moves string
	// Every takes every n-th frame of the clips (1: all).
	Every int
}

// PassiveSources lists the labelled presentations of every source found
// under cfg.Data.
func PassiveSources(cfg PassiveSourcesConfig) ([]PassiveItem, error) {
	var items []PassiveItem
	for _, set := range []string{"pad", "pad-replay"} {
		labels := filepath.Join(cfg.Data, set, "labels.tsv")
		if _, err := os.Stat(labels); err != nil {
			continue
		}
		rows, err := dataset.ReadTSV(labels)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			src := r["group"]
			if set == "pad-replay" {
				src = SourceReplay
			}
			if r["label"] != "bonafide" && r["label"] != "attack" {
				return nil, fmt.Errorf("%s: %s: label %q is neither bonafide nor attack", labels, r["path"], r["label"])
			}
			items = append(items, PassiveItem{Source: src, Path: filepath.ToSlash(filepath.Join(set, r["path"])), Attack: r["label"] == "attack",
				Type: coarseType(r["label"], r["attack_type"]), Detail: r["attack_type"], Subject: src + "/" + r["subject"]})
		}
	}
	clips := filepath.Join(cfg.Data, "active", "labels.tsv")
	if _, err := os.Stat(clips); err != nil {
		return items, nil
	}
	rows, err := dataset.ReadTSV(clips)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(cfg.Frames)
	if err != nil {
		return nil, fmt.Errorf("passive sources: %w", err)
	}
	defer f.Close()
	regions, err := ParsePresentedFaces(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Frames, err)
	}
	var moves Annotations
	if cfg.Moves != "" {
		mf, err := os.Open(cfg.Moves)
		if err != nil {
			return nil, fmt.Errorf("passive sources: %w", err)
		}
		moves, err = ParseAnnotations(mf)
		mf.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Moves, err)
		}
	}
	every := max(cfg.Every, 1)
	for _, r := range rows {
		clip := r["clip"]
		src := SourceWebcam
		if strings.HasPrefix(clip, "lp_") {
			src = SourcePortrait
		}
		attack := r["label"] == "attack"
		frames, err := filepath.Glob(filepath.Join(cfg.Data, "active", clip, "*.jpg"))
		if err != nil {
			return nil, err
		}
		sort.Strings(frames)
		for _, p := range frames {
			n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ".jpg"))
			if err != nil || (n-1)%every != 0 {
				continue
			}
			it := PassiveItem{Source: src, Path: filepath.ToSlash(filepath.Join("active", clip, filepath.Base(p))), Attack: attack,
				Type: coarseType(r["label"], "replay"), Detail: "phone replay", Subject: clip}
			if !attack {
				it.Detail = "none"
				if turned(moves[clip], n) {
					continue
				}
			} else {
				reg, ok := regions.At(clip, n)
				if !ok {
					continue
				}
				it.Region = &reg
			}
			// Real and replayed clips of one person are one subject.
			it.Subject = strings.TrimSuffix(strings.TrimSuffix(clip, "_real"), "_fake")
			items = append(items, it)
		}
	}
	return items, nil
}

// PresentedFaces holds, per attack clip, the frame stretches and the part
// of the frame that holds the replayed face.
type PresentedFaces map[string][]presented

type presented struct {
	first, last int
	region      geometry.Box
}

// At returns the region of the replayed face in frame n of clip.
func (p PresentedFaces) At(clip string, n int) (geometry.Box, bool) {
	for _, s := range p[clip] {
		if n >= s.first && n <= s.last {
			return s.region, true
		}
	}
	return geometry.Box{}, false
}

// ParsePresentedFaces reads the attack clips' annotation file
// (testdata/active/passive.tsv): '#' comments, a header, then clip,
// first_frame, last_frame, x0, y0, x1, y1, note.
func ParsePresentedFaces(r io.Reader) (PresentedFaces, error) {
	sc := bufio.NewScanner(r)
	out := PresentedFaces{}
	header := false
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(t) == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Split(t, "\t")
		if !header {
			if len(f) < 7 || f[0] != "clip" {
				return nil, fmt.Errorf("line %d: header must start clip first_frame last_frame x0 y0 x1 y1", line)
			}
			header = true
			continue
		}
		if len(f) < 7 {
			return nil, fmt.Errorf("line %d: want 7 columns or more, got %d", line, len(f))
		}
		var n [2]int
		var v [4]float64
		for i := range n {
			x, err := strconv.Atoi(f[1+i])
			if err != nil || x < 1 {
				return nil, fmt.Errorf("line %d: bad frame number %q", line, f[1+i])
			}
			n[i] = x
		}
		for i := range v {
			x, err := strconv.ParseFloat(f[3+i], 64)
			if err != nil || x < 0 || x > 1 {
				return nil, fmt.Errorf("line %d: bad fraction %q", line, f[3+i])
			}
			v[i] = x
		}
		if n[1] < n[0] || v[2] <= v[0] || v[3] <= v[1] {
			return nil, fmt.Errorf("line %d: empty stretch or region", line)
		}
		out[f[0]] = append(out[f[0]], presented{first: n[0], last: n[1], region: geometry.Box{X: v[0], Y: v[1], W: v[2] - v[0], H: v[3] - v[1]}})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !header {
		return nil, fmt.Errorf("no header")
	}
	return out, nil
}

// turned reports whether frame n lies in an annotated turn or look up or
// down.
func turned(moves []Annotation, n int) bool {
	for _, a := range moves {
		if n < a.First || n > a.Last {
			continue
		}
		switch a.Move {
		case Move(challenge.TurnLeft), Move(challenge.TurnRight), Move(challenge.LookUp), Move(challenge.LookDown):
			return true
		}
	}
	return false
}
