package translog

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/tlog"
)

var (
	// sampleHash is a fixed non-trivial hash.
	sampleHash = LeafHash([]byte("sample"))
	// urlHash has a '+' or '/' in its standard base64 text, so its URL-safe
	// text differs.
	urlHash = LeafHash([]byte("url"))
)

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

func TestCheckpointMarshal(t *testing.T) {
	tests := []struct {
		name string
		cp   Checkpoint
		want string
	}{
		{"empty tree", Checkpoint{testOrigin, 0, emptyRoot},
			"candor.test/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"},
		{"large tree", Checkpoint{"example.com/log", 9223372036854775807, sampleHash},
			"example.com/log\n9223372036854775807\n" + b64(sampleHash) + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.cp.Marshal()); got != tc.want {
				t.Errorf("Marshal() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseCheckpoint(t *testing.T) {
	h := b64(sampleHash)
	valid := []struct {
		name string
		text string
		want Checkpoint
	}{
		{"empty tree", "candor.test/log\n0\n" + b64(emptyRoot) + "\n", Checkpoint{testOrigin, 0, emptyRoot}},
		{"size 1", "candor.test/log\n1\n" + h + "\n", Checkpoint{testOrigin, 1, sampleHash}},
		{"max size", "o\n9223372036854775807\n" + h + "\n", Checkpoint{"o", 9223372036854775807, sampleHash}},
		{"extension lines ignored", "candor.test/log\n12\n" + h + "\next one\next two\n", Checkpoint{testOrigin, 12, sampleHash}},
		{"non-ASCII origin", "candor.test/lög\n3\n" + h + "\n", Checkpoint{"candor.test/lög", 3, sampleHash}},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCheckpoint([]byte(tc.text))
			if err != nil {
				t.Fatalf("ParseCheckpoint(%q): %v", tc.text, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseCheckpoint(%q) mismatch (-want +got):\n%s", tc.text, diff)
			}
		})
	}

	// A hash whose last base64 character has non-zero padding bits decodes
	// to the same bytes as the canonical text in a lax decoder.
	nonCanonical := h[:42] + string(h[42]+1) + "="
	invalid := []struct {
		name string
		text string
	}{
		{"empty", ""},
		{"newline only", "\n"},
		{"no final newline", "candor.test/log\n1\n" + h},
		{"two lines", "candor.test/log\n1\n"},
		{"empty origin", "\n1\n" + h + "\n"},
		{"origin with space", "candor test\n1\n" + h + "\n"},
		{"origin with plus", "candor+test\n1\n" + h + "\n"},
		{"origin with tab", "candor\ttest\n1\n" + h + "\n"},
		{"origin with NUL", "candor\x00test\n1\n" + h + "\n"},
		{"origin with CR", "candor.test/log\r\n1\n" + h + "\n"},
		{"origin invalid UTF-8", "candor\xff\n1\n" + h + "\n"},
		{"empty size", "o\n\n" + h + "\n"},
		{"leading zero", "o\n01\n" + h + "\n"},
		{"double zero", "o\n00\n" + h + "\n"},
		{"plus sign", "o\n+1\n" + h + "\n"},
		{"negative", "o\n-1\n" + h + "\n"},
		{"space before size", "o\n 1\n" + h + "\n"},
		{"hex size", "o\n0x1\n" + h + "\n"},
		{"size overflows int64", "o\n9223372036854775808\n" + h + "\n"},
		{"size with CR", "o\n1\r\n" + h + "\n"},
		{"hash with CR", "o\n1\n" + h + "\r\n"},
		{"hash of 31 bytes", "o\n1\n" + base64.StdEncoding.EncodeToString(sampleHash[:31]) + "\n"},
		{"hash of 33 bytes", "o\n1\n" + base64.StdEncoding.EncodeToString(append(sampleHash[:], 0)) + "\n"},
		{"hash unpadded", "o\n1\n" + strings.TrimRight(h, "=") + "\n"},
		{"hash URL encoding", "o\n1\n" + base64.URLEncoding.EncodeToString(urlHash[:]) + "\n"},
		{"hash non-canonical padding bits", "o\n1\n" + nonCanonical + "\n"},
		{"hash missing", "o\n1\n\n"},
		{"empty extension line", "o\n1\n" + h + "\n\n"},
		{"empty extension line between", "o\n1\n" + h + "\next\n\next\n"},
		{"size 0 with non-empty root", "o\n0\n" + h + "\n"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCheckpoint([]byte(tc.text))
			if !errors.Is(err, ErrMalformedCheckpoint) {
				t.Errorf("ParseCheckpoint(%q) = %+v, %v; want error %v", tc.text, got, err, ErrMalformedCheckpoint)
			}
		})
	}
	// The URL-encoding case only tests something if that hash's encodings
	// differ.
	if u := base64.URLEncoding.EncodeToString(urlHash[:]); u == b64(urlHash) {
		t.Errorf("test hash has the same standard and URL encodings %q; pick another", u)
	}
	if b, err := base64.StdEncoding.DecodeString(nonCanonical); err != nil || tlog.Hash(b) != sampleHash {
		t.Errorf("non-canonical hash %q does not decode to the sample hash in a lax decoder (%v); the case tests nothing", nonCanonical, err)
	}
}
