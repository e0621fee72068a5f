package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/candorhq/candor/internal/translog"
)

// TestLogOriginFromKeyWithPlus reads the origin back from keys whose base64 part holds "+", which
// a naive split on "+" mistakes for a malformed key (it did, on about half of all restarts).
func TestLogOriginFromKeyWithPlus(t *testing.T) {
	const origin = "candor.test/origin"
	for range 200 {
		dir := t.TempDir()
		if _, err := translog.LoadOrCreateKey(dir, origin); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, LogKeyFile))
		if strings.Count(string(b), "+") <= 4 {
			continue
		}
		got, err := logOrigin(dir, "ignored")
		if err != nil || got != origin {
			t.Fatalf("logOrigin = %q, %v; want %q", got, err, origin)
		}
		return
	}
	t.Fatal("no key with '+' in its base64 part in 200 tries")
}
