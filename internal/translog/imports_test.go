package translog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the package's first rule (see doc.go): no transport,
// no storage, no other Candor package, not even indirectly.
func TestImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	const self = "github.com/candorhq/candor/internal/translog"
	sawTlog := false
	for _, d := range deps {
		switch {
		case d == "golang.org/x/mod/sumdb/tlog":
			sawTlog = true
		case strings.HasPrefix(d, "google.golang.org/grpc"),
			strings.HasPrefix(d, "go.etcd.io/bbolt"),
			strings.HasPrefix(d, "github.com/candorhq/candor/") && d != self:
			t.Errorf("translog depends on %s", d)
		}
	}
	// If go list printed something else entirely, the loop checked nothing.
	if !sawTlog {
		t.Errorf("go list -deps output does not include golang.org/x/mod/sumdb/tlog:\n%s", out)
	}
}
