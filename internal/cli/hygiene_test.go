package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// TestInvalidUTF8IsAUsageError checks that text that is not UTF-8, in an argument or a file, stops
// candor with exit 2 naming the flag, before anything is sent.
func TestInvalidUTF8IsAUsageError(t *testing.T) {
	matter := filepath.Join(t.TempDir(), "matter.txt")
	if err := os.WriteFile(matter, []byte("Caf\xe9 budget (Latin-1)\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		flag string
	}{
		{"argument", []string{"body", "create", "Caf\xe9"}, "TITLE"},
		{"flag", []string{"call", "open", council, "--title", "Budget", "--affected-party", "Caf\xe9"}, "--affected-party"},
		{"file", []string{"call", "open", council, "--title", "Budget", "--matter-file", matter}, "--matter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, fake := startFake(t, nil)
			r := runCLI(t, nil, "", append([]string{"--addr", addr, "--token", "tok"}, tt.args...)...)
			if r.code != ExitUsage {
				t.Errorf("exit code %d, want %d; stderr: %s", r.code, ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.flag+" is not valid UTF-8") {
				t.Errorf("stderr does not name %s: %s", tt.flag, r.stderr)
			}
			if n := len(fake.received()); n != 0 {
				t.Errorf("the server got %d calls, want none", n)
			}
		})
	}
}

// TestOutputEscapesControls checks every way candor prints the server's text: table rows, detail
// lines, text blocks and error sentences.
func TestOutputEscapesControls(t *testing.T) {
	hostile := "Dave\x1b]0;pwned\x07\r\u202eevil\u2066"
	const escaped = `Dave\x1b]0;pwned\x07\x0d\u202eevil\u2066`

	var tbl bytes.Buffer
	tw := newTable(&tbl)
	row(tw, "NAME", "TITLE")
	row(tw, "participants/x", hostile+"\tcolumn\nrow")
	tw.Flush()
	if want := "participants/x  " + escaped + `\x09column\nrow`; !strings.Contains(tbl.String(), want) {
		t.Errorf("row printed %q, want it to contain %q", tbl.String(), want)
	}

	// cell and sentence make one line: the carriage return is white space there.
	const oneLine = `Dave\x1b]0;pwned\x07 \u202eevil\u2066`
	if got := cell(hostile); got != oneLine {
		t.Errorf("cell = %q, want %q", got, oneLine)
	}

	var d details
	d.add("Title", hostile)
	var det bytes.Buffer
	d.write(&det)
	if want := "Title:  " + escaped + "\n"; det.String() != want {
		t.Errorf("details printed %q, want %q", det.String(), want)
	}

	var text bytes.Buffer
	writeText(&text, "Matter", "First line\x1b[2J\n\tindented\u202e")
	if want := "Matter:\n  First line\\x1b[2J\n      indented\\u202e\n"; text.String() != want {
		t.Errorf("writeText printed %q, want %q", text.String(), want)
	}

	got, _ := describeStatus(withDetails(t, codes.FailedPrecondition, "bad "+hostile, info("SOMETHING_NEW")), errContext{})
	if want := "candor: refused (SOMETHING_NEW): bad " + oneLine; got != want {
		t.Errorf("sentence %q, want %q", got, want)
	}
	if got := escapeControls(escapeControls(hostile)); got != escaped {
		t.Errorf("escaping twice gave %q, want %q", got, escaped)
	}
}

// TestSentenceKeepsEveryWord checks that the CLI's one-line form of a message drops no word of it.
func TestSentenceKeepsEveryWord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"call is closed", "call is closed"},
		{"call is closed.", "call is closed"},
		{"  padded  ", "padded"},
		{"proof does not verify: entry 3 in tree of size 9", "proof does not verify: entry 3 in tree of size 9"},
		{"first line.\nsecond line", "first line. second line"},
		{"windows\r\nline ends", "windows line ends"},
		{"wait for it...", "wait for it..."},
		{"name (got \"participants/aaaa...\")", "name (got \"participants/aaaa...\")"},
	}
	for _, tt := range tests {
		if got := sentence(tt.in); got != tt.want {
			t.Errorf("sentence(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWithoutPackagePrefixes checks that package names leave an error chain and no other word does.
func TestWithoutPackagePrefixes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"translog: proof does not verify: entry 3 in tree of size 9: root mismatch", "proof does not verify: entry 3 in tree of size 9: root mismatch"},
		{"verify: replay: translog: proof does not verify", "replay: proof does not verify"},
		{"domain: call is closed", "call is closed"},
		{"verify: checkpoint does not verify: store: log corrupt", "checkpoint does not verify: log corrupt"},
		{"the signature does not verify", "the signature does not verify"},
		{"verify", "verify"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := withoutPackagePrefixes(tt.in); got != tt.want {
			t.Errorf("withoutPackagePrefixes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
