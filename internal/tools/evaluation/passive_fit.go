package evaluation

import (
	"errors"
	"math"
)

// A small weighted logistic regression for the passive fusion: few
// features, a few thousand samples, Newton's method with an L2 penalty on
// the standardised weights.

// logit is a fitted linear score over named features: Score = Bias +
// sum of W[i] * x[Feats[i]] in the features' own units.
type logit struct {
	Feats []string  `json:"features"`
	W     []float64 `json:"weights"`
	Bias  float64   `json:"bias"`
}

func (l logit) score(f map[string]float64) float64 {
	s := l.Bias
	for i, n := range l.Feats {
		s += l.W[i] * f[n]
	}
	return s
}

// fitLogit fits P(bona fide) = sigmoid(score) to x (rows of features in
// the order of feats), y (1 bona fide, 0 attack) and sample weights w,
// with penalty lambda on the standardised weights.
func fitLogit(feats []string, x [][]float64, y, w []float64, lambda float64) (logit, error) {
	n, d := len(x), len(feats)
	if n == 0 || d == 0 {
		return logit{}, errors.New("fit: no data")
	}
	mean, sd := make([]float64, d), make([]float64, d)
	var wsum float64
	for i := range x {
		wsum += w[i]
		for j := 0; j < d; j++ {
			mean[j] += w[i] * x[i][j]
		}
	}
	for j := range mean {
		mean[j] /= wsum
	}
	for i := range x {
		for j := 0; j < d; j++ {
			dv := x[i][j] - mean[j]
			sd[j] += w[i] * dv * dv
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j]/wsum) + 1e-9
	}
	// beta[0] is the bias, beta[1:] the standardised weights.
	beta := make([]float64, d+1)
	z := make([]float64, d+1)
	for it := 0; it < 50; it++ {
		g := make([]float64, d+1)
		h := make([][]float64, d+1)
		for k := range h {
			h[k] = make([]float64, d+1)
		}
		for i := range x {
			z[0] = 1
			for j := 0; j < d; j++ {
				z[j+1] = (x[i][j] - mean[j]) / sd[j]
			}
			var s float64
			for k := range z {
				s += beta[k] * z[k]
			}
			p := 1 / (1 + math.Exp(-s))
			wi := w[i] / wsum
			for k := range z {
				g[k] += wi * (p - y[i]) * z[k]
				for m := range z {
					h[k][m] += wi * p * (1 - p) * z[k] * z[m]
				}
			}
		}
		for k := 1; k <= d; k++ {
			g[k] += lambda * beta[k]
			h[k][k] += lambda
		}
		h[0][0] += 1e-9
		step, err := solve(h, g)
		if err != nil {
			return logit{}, err
		}
		var mx float64
		for k := range beta {
			beta[k] -= step[k]
			mx = math.Max(mx, math.Abs(step[k]))
		}
		if mx < 1e-8 {
			break
		}
	}
	l := logit{Feats: feats, W: make([]float64, d), Bias: beta[0]}
	for j := 0; j < d; j++ {
		l.W[j] = beta[j+1] / sd[j]
		l.Bias -= l.W[j] * mean[j]
	}
	return l, nil
}

// solve returns x with a x = b (Gaussian elimination, partial pivoting).
func solve(a [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(append([]float64{}, a[i]...), b[i])
	}
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		if math.Abs(m[p][c]) < 1e-14 {
			return nil, errors.New("fit: singular system")
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for k := r + 1; k < n; k++ {
			s -= m[r][k] * x[k]
		}
		x[r] = s / m[r][r]
	}
	return x, nil
}
