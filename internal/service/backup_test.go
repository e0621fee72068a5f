package service

import (
	"bytes"
	"context"
	"testing"

	"github.com/candorhq/candor/internal/domain"
)

// firstWrite records the first write it receives and the sizes announced.
type firstWrite struct {
	first []byte
	all   bytes.Buffer
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if f.first == nil {
		f.first = append([]byte(nil), p...)
	}
	return f.all.Write(p)
}

// TestBackupAnnouncesSize checks that Backup hands the copy's length to size before the first byte
// reaches the writer, and that it is the length written.
func TestBackupAnnouncesSize(t *testing.T) {
	svc := New(Config{Store: newTestStore(t)})
	for range 50 {
		if _, _, err := svc.CreateBody(context.Background(), Principal{Admin: true}, "b", Request{}); err != nil {
			t.Fatal(err)
		}
	}
	w := &firstWrite{}
	var announced []int64
	var before int
	snap, err := svc.Backup(context.Background(), Principal{Admin: true}, w, func(n int64) {
		announced = append(announced, n)
		before = w.all.Len()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(announced) != 1 || announced[0] != snap.Size || int64(w.all.Len()) != snap.Size || before != 0 {
		t.Errorf("announced %v with %d bytes already written; the copy has %d bytes, %d written", announced, before, snap.Size, w.all.Len())
	}
	if _, err := svc.Backup(context.Background(), Principal{}, w, nil); err != domain.ErrAdminOnly {
		t.Errorf("backup by a non-admin: %v, want %v", err, domain.ErrAdminOnly)
	}

}
