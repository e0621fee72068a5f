package export

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"time"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// csvZip writes an export's CSV files into a zip. A zip holds one file after another while records
// come in log order, each to its own file, so the files are written to a temporary folder first
// ([NewCSVDir]) and copied into the zip by Close: an export of any size is never held in memory.
type csvZip struct {
	w        io.Writer
	tmp      string
	dir      Writer
	modified time.Time // the export's time, given to each file in the zip
}

// NewCSVZip returns a Writer of an export's CSV files as a zip to w, by way of a temporary folder in
// tmpDir ("": the system's). Close writes the zip (it does not close w); Close and Abort remove the
// temporary folder.
func NewCSVZip(w io.Writer, tmpDir string) (Writer, error) {
	tmp, err := os.MkdirTemp(tmpDir, "candor-export-")
	if err != nil {
		return nil, err
	}
	dir, err := newCSVDir(filepath.Join(tmp, "csv"), false) // scratch: the zip is what is kept
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &csvZip{w: w, tmp: tmp, dir: dir, modified: time.Now()}, nil
}

func (z *csvZip) Write(rec *candorv1.ExportBodyResponse) error {
	if t := rec.GetHeader().GetExportTime(); t != nil {
		z.modified = t.AsTime()
	}
	return z.dir.Write(rec)
}

func (z *csvZip) Close() error {
	defer os.RemoveAll(z.tmp)
	if err := z.dir.Close(); err != nil {
		return err
	}
	zw := zip.NewWriter(z.w)
	for _, name := range Files() {
		if err := z.add(zw, name); err != nil {
			return err
		}
	}
	return zw.Close()
}

func (z *csvZip) add(zw *zip.Writer, name string) error {
	f, err := os.Open(filepath.Join(z.tmp, "csv", name))
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.modified})
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}

func (z *csvZip) Abort() {
	z.dir.Abort()
	os.RemoveAll(z.tmp)
}
