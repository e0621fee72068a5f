package export

import (
	"errors"
	"io"
	"os"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TempFile is a file that is removed when closed.
type TempFile struct{ *os.File }

// Close closes the file and removes it.
func (t *TempFile) Close() error {
	err := t.File.Close()
	os.Remove(t.Name())
	return err
}

// ZipTemp reads a whole export, first and then recv until io.EOF, into a zip of its CSV files in a
// temporary file, and returns it positioned at its start. A server answering over HTTP assembles the
// zip before sending a byte, so that a failure while reading is still a proper error. An error from
// recv is returned as it is (a gRPC status); nothing is left behind on any error.
func ZipTemp(first *candorv1.ExportBodyResponse, recv func() (*candorv1.ExportBodyResponse, error)) (*TempFile, error) {
	f, err := os.CreateTemp("", "candor-export-*.zip")
	if err != nil {
		return nil, err
	}
	tmp := &TempFile{f}
	zw, err := NewCSVZip(f, "")
	if err != nil {
		tmp.Close()
		return nil, err
	}
	for rec := first; ; {
		if err := zw.Write(rec); err != nil {
			zw.Abort()
			tmp.Close()
			return nil, err
		}
		if rec, err = recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			zw.Abort()
			tmp.Close()
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return nil, err
	}
	return tmp, nil
}
