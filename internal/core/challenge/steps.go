package challenge

// runChallenges runs the state machine over the face frames, filling steps,
// and reports whether a pose action was performed out of turn (only with
// cfg.StrictOrder).
func runChallenges(actions []Action, c []cues, cfg Config, steps []Step) (wrongOrder bool) {
	k := 0         // the action awaited
	armed := false // a neutral frame was seen since the last action
	blink := 0     // blink progress: 1 open seen, 2 then closed seen
	peakStep := -1 // the pose step whose peak is being tracked
	peakDev := 0.0 // its deviation so far
	other := 0     // consecutive frames showing another pose action
	for i := range c {
		f := c[i]
		if !f.face {
			continue
		}
		if peakStep >= 0 && !armed {
			if d := f.deviation(cfg, actions[peakStep]); d > peakDev {
				steps[peakStep].Peak, peakDev = i, d
			}
		}
		if !armed {
			if !f.neutral(cfg) && !backFrom(f, cfg, actions, peakStep) {
				continue
			}
			armed, blink, peakStep = true, 0, -1
		}
		if k >= len(actions) {
			continue
		}
		want := actions[k]
		if want.pose() && f.performs(cfg, want) {
			steps[k].Met, steps[k].Frame, steps[k].At = true, i, f.at
			steps[k].Peak, peakStep, peakDev = i, k, f.deviation(cfg, want)
			k, armed = k+1, false
			continue
		}
		if cfg.StrictOrder && performsOther(f, cfg, want) {
			if other++; other >= max(cfg.OutOfTurnFrames, 1) {
				wrongOrder, armed, other = true, false, 0
			}
			continue
		}
		other = 0
		if want != Blink {
			continue
		}
		if !f.eyesKnown || !f.within(cfg, cfg.Turn) {
			blink = 0
			continue
		}
		switch {
		case blink == 0 && f.open:
			blink = 1
		case blink == 1 && f.closed:
			blink = 2
		case blink == 2 && f.open:
			steps[k].Met, steps[k].Frame, steps[k].At = true, i, f.at
			k, armed = k+1, false
		}
	}
	return wrongOrder
}

// backFrom reports whether the frame shows the head back from the pose
// action of step k (within Config.Neutral of the rest pose in that
// action's direction) while another pose action is awaited: a subject may
// go from a look down straight into a turn without pausing facing the
// camera, and the next move is still a distinct one.
func backFrom(f cues, cfg Config, actions []Action, k int) bool {
	if k < 0 || k+1 >= len(actions) || !actions[k+1].pose() || !f.face || !f.geom {
		return false
	}
	return f.deviation(cfg, actions[k]) < cfg.Neutral
}

// performsOther reports whether the frame shows a pose action other than
// want, as its main movement (a diagonal move towards want is not out of
// turn).
func performsOther(f cues, cfg Config, want Action) bool {
	for _, a := range Actions {
		if a != want && a.pose() && f.performs(cfg, a) && f.dominant(cfg, a) {
			return true
		}
	}
	return false
}
