package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

// TestReceiptSaved checks that a vote's receipt is saved as receipts/<origin>/<log index>.json with the
// address and origin, that it reads back whole, and that a second receipt with the same index does not
// overwrite it.
func TestReceiptSaved(t *testing.T) {
	addr, _ := startFake(t, nil)
	dir := t.TempDir()
	vote := func(env map[string]string, args ...string) result {
		t.Helper()
		r := runCLI(t, env, "", append(args, "--addr", addr, "--token", "tok", "vote", openCall, "yes")...)
		if r.code != ExitOK {
			t.Fatalf("exit code %d, stderr: %s", r.code, r.stderr)
		}
		return r
	}

	r := vote(map[string]string{envConfigDir: dir})
	folder := filepath.Join(dir, "receipts", "candor.example_log-9e2ba541")
	path := filepath.Join(folder, "43.json")
	if want := "receipt: " + path + " (log index 43)\n"; !strings.HasSuffix(r.stdout, want) {
		t.Errorf("stdout ends %q, want %q", r.stdout[max(0, len(r.stdout)-80):], want)
	}
	gotAddr, got, err := readReceiptFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if gotAddr != addr {
		t.Errorf("saved addr = %q, want %q", gotAddr, addr)
	}
	if diff := cmp.Diff(receipt(43), got, protocmp.Transform()); diff != "" {
		t.Errorf("saved receipt (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("receipt mode = %v, want 0600", perm)
	}

	// Same index again (another server, or a fresh one): the first file stays.
	first, _ := os.ReadFile(path)
	r = vote(nil, "--config-dir", dir)
	second := filepath.Join(folder, "43-2.json")
	if !strings.Contains(r.stdout, "receipt: "+second+" (log index 43)") {
		t.Errorf("second receipt not reported at %s:\n%s", second, r.stdout)
	}
	if again, _ := os.ReadFile(path); string(again) != string(first) {
		t.Errorf("the first receipt was overwritten")
	}
	if _, _, err := readReceiptFile(second); err != nil {
		t.Errorf("second receipt: %v", err)
	}
}

// TestReceiptNotSaved checks that a write the server recorded but whose receipt cannot be saved says
// so and fails, after printing the answer.
func TestReceiptNotSaved(t *testing.T) {
	addr, _ := startFake(t, nil)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "--config-dir", notADir, "vote", openCall, "yes")
	if r.code != ExitFailure {
		t.Errorf("exit code = %d, want %d", r.code, ExitFailure)
	}
	checkOneSentence(t, r.stderr)
	if !strings.Contains(r.stderr, "recorded this at log index 43, but the receipt could not be saved") {
		t.Errorf("stderr = %q", r.stderr)
	}
	if !strings.Contains(r.stdout, "Ballot:") {
		t.Errorf("the ballot was not printed:\n%s", r.stdout)
	}
}

func TestNoConfigFolder(t *testing.T) {
	addr, _ := startFake(t, nil)
	// runCLI's user config folder fails, and no --config-dir or CANDOR_CONFIG_DIR is given.
	r := runCLI(t, nil, "", "--addr", addr, "--token", "tok", "vote", openCall, "yes")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "set CANDOR_CONFIG_DIR") {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
}

func TestReadReceiptFileRejects(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not-json.json":   "receipt",
		"no-receipt.json": `{"addr": "x"}`,
		"bad-field.json":  `{"addr": "x", "receipt": {"logIndex": "1", "leaf": "AA=="}}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readReceiptFile(path); err == nil {
			t.Errorf("readReceiptFile(%s) accepted %q", name, content)
		}
	}
}

// TestReceiptFolders checks that receipts from logs with different origins go to different folders,
// named after the origin, and that no origin can name a folder outside receipts/.
func TestReceiptFolders(t *testing.T) {
	tests := []struct {
		origin, want string
	}{
		{"candor.example", "candor.example"},
		{"candor.local/host-1", "candor.local_host-1-ccbec46f"},
		{"candor.local_host-1", "candor.local_host-1"},
		{"..", "unknown-origin-5ec1f7e7"},
		{"", "unknown-origin-e3b0c442"},
		{"../../etc", ".._.._etc-74ccf3c5"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := originFolder(tt.origin)
		if strings.ContainsAny(got, "/\\") || got == "." || got == ".." {
			t.Errorf("originFolder(%q) = %q: not a single safe folder name", tt.origin, got)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("origins %q and %q share the folder %q", prev, tt.origin, got)
		}
		seen[got] = tt.origin
		if got != tt.want {
			t.Errorf("originFolder(%q) = %q, want %q", tt.origin, got, tt.want)
		}
	}
	if got := checkpointOrigin([]byte("candor.test/log\n7\nAAAA\n\n— candor.test/log sig\n")); got != "candor.test/log" {
		t.Errorf("checkpointOrigin = %q, want candor.test/log", got)
	}

	// Two servers, two origins: the same log index lands in two folders.
	dir := t.TempDir()
	a := &app{opts: globalOptions{configDir: dir, addr: "x"}}
	for _, origin := range []string{"log.one/a", "log.two/a"} {
		r := receipt(7)
		r.Checkpoint = []byte(origin + "\n8\nq83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=\n\n— " + origin + " AAAA\n")
		path, err := a.saveReceipt(r)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) != "7.json" || filepath.Dir(filepath.Dir(path)) != filepath.Join(dir, "receipts") {
			t.Errorf("receipt from %s saved at %s, want receipts/<origin>/7.json", origin, path)
		}
		if _, _, err := readReceiptFile(path); err != nil {
			t.Error(err)
		}
	}
	folders, _ := os.ReadDir(filepath.Join(dir, "receipts"))
	if len(folders) != 2 {
		t.Errorf("%d receipt folders, want 2", len(folders))
	}
}

// TestReceiptNeverSendsTokenToItsAddress: a receipt handed over by someone else names a server of
// their choosing; checking it must not send the checker's token there.
func TestReceiptNeverSendsTokenToItsAddress(t *testing.T) {
	trap, f := startFake(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "handed-over.json")
	doc := `{"addr": "` + trap + `", "origin": "candor.test/log", "receipt": {"logIndex": "0", "entry": "AA==", "checkpoint": "AA=="}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{envAddr: ""}, "", "--token", "secret-token", "audit", "receipt", path)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "came from the server at "+trap) {
		t.Errorf("exit %d, stderr %q: want a refusal naming the receipt's server", r.code, r.stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) != 0 {
		t.Errorf("the receipt's server received %d requests, the first %s with %q", len(f.calls), f.calls[0].method, f.calls[0].auth)
	}
}
