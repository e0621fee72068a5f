package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protojson"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Writer writes an export's records, in the order the server sent them. The output is complete only
// once Close returns nil; after a failure, Abort removes what was written.
type Writer interface {
	Write(rec *candorv1.ExportBodyResponse) error
	Close() error
	Abort()
}

// MarshalLine returns rec as one line of JSON Lines: protojson (lowerCamelCase names, as the REST
// API writes them; unset fields left out), compact, with a line feed. Its "kind" says what the
// record is. The bytes are the same from build to build (protojson varies its spacing on purpose;
// compacting removes it).
func MarshalLine(rec *candorv1.ExportBodyResponse) ([]byte, error) {
	b, err := protojson.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("export: encoding a record as JSON: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(b) + 1)
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("export: encoding a record as JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// jsonl writes JSON Lines to w.
type jsonl struct {
	w *bufio.Writer
}

// NewJSONL returns a Writer of JSON Lines to w ([MarshalLine]). Close flushes; it does not close w.
func NewJSONL(w io.Writer) Writer {
	return &jsonl{w: bufio.NewWriterSize(w, 64<<10)}
}

func (j *jsonl) Write(rec *candorv1.ExportBodyResponse) error {
	line, err := MarshalLine(rec)
	if err != nil {
		return err
	}
	_, err = j.w.Write(line)
	return err
}

func (j *jsonl) Close() error { return j.w.Flush() }

func (j *jsonl) Abort() {}
