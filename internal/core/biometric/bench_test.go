package biometric_test

import (
	"testing"

	"github.com/facelambda/facelambda/internal/core/biometric"
)

// BenchmarkAnalyze measures template creation from an encoded portrait
// (decode, detection, landmarks, alignment, embedding, quality).
func BenchmarkAnalyze(b *testing.B) {
	s := service(b)
	for _, name := range []string{"obama-240p.jpg", "obama.jpg"} {
		img := fixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := s.Analyze(img, biometric.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
