package export

import "fmt"

// Format is how an export is written.
type Format string

// The formats.
const (
	// JSONL is JSON Lines: one protojson record a line ([NewJSONL]).
	JSONL Format = "jsonl"
	// CSV is one CSV file per kind of record, in a folder ([NewCSVDir]) or a zip ([NewCSVZip]).
	CSV Format = "csv"
)

// ParseFormat reads a format's name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case JSONL, CSV:
		return f, nil
	}
	return "", fmt.Errorf("export: the format must be jsonl or csv, not %q", s)
}
