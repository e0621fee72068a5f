package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// jsonOutput reports whether -o json was asked for.
func (a *app) jsonOutput() bool { return a.opts.output == outputJSON }

// printJSON writes m as protojson, indented by two spaces. protojson's own multiline output varies its
// spacing on purpose from build to build; indenting the compact form with encoding/json keeps the output
// stable for scripts and golden files.
func (a *app) printJSON(m proto.Message) error {
	b, err := marshalJSON(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// marshalJSON is protojson (proto field names in lowerCamelCase, unpopulated fields left out),
// indented by two spaces.
func marshalJSON(m proto.Message) ([]byte, error) {
	compact, err := protojson.MarshalOptions{EmitUnpopulated: false}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the answer as JSON: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("encoding the answer as JSON: %w", err)
	}
	return out.Bytes(), nil
}

// jsonField is one member of a JSON object assembled from several messages.
type jsonField struct {
	name string
	msg  proto.Message
}

// printJSONObject writes {"name": protojson, ...} for answers that take more than one RPC.
func (a *app) printJSONObject(fields ...jsonField) error {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(f.name)
		buf.Write(k)
		buf.WriteByte(':')
		b, err := protojson.Marshal(f.msg)
		if err != nil {
			return fmt.Errorf("encoding the answer as JSON: %w", err)
		}
		buf.Write(b)
	}
	buf.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return fmt.Errorf("encoding the answer as JSON: %w", err)
	}
	_, err := fmt.Fprintf(a.stdout, "%s\n", out.Bytes())
	return err
}

// newTable returns a writer that aligns tab-separated columns; call Flush when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
}

// row writes cells as one table row, each escaped ([escapeControls]): a tab or newline in a cell
// cannot add a column or a row.
func row(w io.Writer, cells ...string) {
	escaped := make([]string, len(cells))
	for i, c := range cells {
		escaped[i] = strings.ReplaceAll(escapeControls(c), "\n", `\n`)
	}
	fmt.Fprintln(w, strings.Join(escaped, "\t"))
}

// details prints "Key:  value" lines aligned, for one resource.
type details struct {
	rows [][2]string
}

func (d *details) add(key, value string) { d.rows = append(d.rows, [2]string{key, value}) }

// addList adds one line per value, the key on the first; "-" when there are none.
func (d *details) addList(key string, values []string) {
	if len(values) == 0 {
		d.add(key, "-")
		return
	}
	for i, v := range values {
		if i > 0 {
			key = ""
		}
		d.add(key, cell(v))
	}
}

func (d *details) write(w io.Writer) error {
	tw := newTable(w)
	for _, r := range d.rows {
		k := r[0]
		if k != "" {
			k += ":"
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, strings.ReplaceAll(escapeControls(r[1]), "\n", `\n`))
	}
	return tw.Flush()
}

// writeText prints a free-text block (a call's matter) under a heading, indented, with its lines kept
// and everything else escaped ([escapeControls]).
func writeText(w io.Writer, heading, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	fmt.Fprintf(w, "%s:\n", heading)
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimRight(line, " \t\r"); line == "" {
			fmt.Fprintln(w)
			continue
		}
		// Tabs (which the server allows in free text) become spaces; other controls are escaped.
		fmt.Fprintf(w, "  %s\n", escapeControls(strings.ReplaceAll(line, "\t", "    ")))
	}
}

// indented writes to w with prefix at the start of every non-empty line.
type indented struct {
	w       io.Writer
	prefix  string
	midLine bool
}

func (iw *indented) Write(p []byte) (int, error) {
	var out []byte
	for _, b := range p {
		if !iw.midLine && b != '\n' {
			out = append(out, iw.prefix...)
		}
		out = append(out, b)
		iw.midLine = b != '\n'
	}
	if _, err := iw.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// cell makes free text from the server fit one table cell: white space runs become one space, control
// and bidirectional formatting characters are escaped ([escapeControls]); empty becomes "-".
func cell(s string) string {
	s = escapeControls(strings.Join(strings.Fields(s), " "))
	if s == "" {
		return "-"
	}
	return s
}

// escapeControls makes text from the server safe to print on a terminal: control characters other
// than newline (tab, carriage return, ESC, BEL, C1 codes...), Unicode's bidirectional formatting
// characters (overrides, embeddings, isolates and marks: the Bidi_Control property) and invalid
// UTF-8 are written as Go escapes (\x1b, \u202e), so that no name or title can move the cursor,
// retitle the window, overwrite a line or reorder what the reader sees. Its output is printable, so
// escaping twice changes nothing. Every table cell, detail line, text block and error sentence goes
// through it (see [cell], [row], [details.write], [writeText] and [sentence]); -o json is escaped by
// protojson, and in watch's one-line JSON by [escapeJSONLine].
func escapeControls(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteRune(r)
		case r < utf8.RuneSelf && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// short cuts free text to n runes for a table; -o json has it whole.
func short(s string, n int) string {
	s = cell(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// timeString prints a timestamp in the app's zone, or "-" when unset.
func (a *app) timeString(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().In(a.loc).Format(time.RFC3339)
}

// enumString prints an enum value the way flags take it: CONFLICT_LEVEL_POTENTIAL is "potential",
// THRESHOLD_TWO_THIRDS is "two-thirds". The zero value prints as "-".
func enumString(e protoreflect.Enum) string {
	if e == nil || e.Number() == 0 {
		return "-"
	}
	ed := e.Descriptor()
	v := ed.Values().ByNumber(e.Number())
	if v == nil {
		return fmt.Sprintf("%d", e.Number())
	}
	prefix := upperSnake(string(ed.Name())) + "_"
	name := strings.TrimPrefix(string(v.Name()), prefix)
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func hexHash(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

// shortHash is the first 12 hex digits of a hash, for tables.
func shortHash(b []byte) string {
	h := hexHash(b)
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
