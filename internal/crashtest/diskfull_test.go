package crashtest_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/crashtest"
	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

const (
	// tmpfsSize is the size of the test's data volume when it can mount one.
	tmpfsSize = 4 << 20
	// dbCap caps the bbolt file in the maxdbsize case. bbolt checks the cap against the size its
	// map would need for the pages in use, a power of two below 16 MiB, so the data fills about
	// dbCap (the file itself grows sparsely in 16 MiB steps, as the store maps 1 GiB up front).
	dbCap = 256 << 10
	// fillSlack is the space the tmpfs filler leaves, so that writes fill the last of it.
	fillSlack = 128 << 10
	// maxRounds bounds the writes spent filling the volume.
	maxRounds = 20_000
)

// volume is a data folder whose space can run out and come back.
type volume interface {
	// start starts a server on the volume's data folder.
	start(t *testing.T) *ts.Server
	// exhaust uses up most of the free space; writes fill the rest.
	exhaust(t *testing.T)
	// restore frees space; it may restart the server and return the new one.
	restore(t *testing.T, srv *ts.Server) *ts.Server
}

// TestDiskFull fills the data volume under writes: on a real small filesystem (tmpfs, when the
// test may mount one) and with the daemon's cap on the bbolt file (always).
func TestDiskFull(t *testing.T) {
	t.Run("tmpfs", func(t *testing.T) {
		dir, err := mountTmpfs(t, tmpfsSize)
		if err != nil {
			t.Skipf("cannot mount a tmpfs (%v); the maxdbsize case covers a full disk", err)
		}
		t.Logf("data volume: a %d MiB tmpfs at %s (ENOSPC from the kernel)", tmpfsSize>>20, dir)
		testDiskFull(t, &tmpfsVolume{dir: dir})
	})
	t.Run("maxdbsize", func(t *testing.T) {
		t.Logf("data volume: bbolt capped at %d KiB by the daemon's MaxDBSize (bbolt's ErrMaxSizeReached)", dbCap>>10)
		testDiskFull(t, &cappedVolume{dir: filepath.Join(t.TempDir(), "data")})
	})
}

func testDiskFull(t *testing.T, vol volume) {
	srv := vol.start(t)
	w := ts.NewWorld(t, srv)
	ledger := crashtest.NewLedger(srv.VerifierKey)
	call := w.OpenVote(t, nil).Name
	voters := []*ts.Client{w.Alice, w.Bob, w.Carol}

	// round writes one declaration and one ballot for voter i, keeping the receipts.
	round := func(srv *ts.Server, i int) error {
		c := ts.NewClient(srv.Conn(), voters[i%len(voters)].Token)
		d, err := ts.DeclareErr(t, c, call, candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, candorv1.Intent_INTENT_PARTICIPATE)
		if err != nil {
			return err
		}
		if err := ledger.Keep(d.GetReceipt()); err != nil {
			t.Fatal(err)
		}
		b, err := ts.Vote(t, c, call, "yes")
		if err != nil {
			return err
		}
		if err := ledger.Keep(b.GetReceipt()); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	// A little history before the disk fills.
	for i := range 10 {
		if err := round(srv, i); err != nil {
			t.Fatalf("write before the disk filled: %v", err)
		}
	}
	check := func(srv *ts.Server, when string) crashtest.Result {
		admin := ts.NewClient(srv.Conn(), w.Admin.Token)
		res, err := ledger.Check(admin.Ctx(t), admin.Audit)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		return res
	}
	check(srv, "before the disk filled")

	vol.exhaust(t)
	var full error
	rounds := 0
	for ; rounds < maxRounds && full == nil; rounds++ {
		full = round(srv, rounds)
	}
	if full == nil {
		t.Fatalf("%d rounds of writes and the volume is still not full", maxRounds)
	}
	t.Logf("the volume filled after %d more rounds; %d writes acknowledged in all", rounds, ledger.Acks())
	wantStorageFull(t, full)
	// While it stays full, every write is refused the same way (bbolt may still fit a small one
	// into pages it freed).
	refused := 0
	for i := range 20 {
		if err := round(srv, i); err != nil {
			wantStorageFull(t, err)
			refused++
		}
	}
	t.Logf("%d of 20 more rounds refused while full", refused)

	// Reads and audits keep working, and nothing stored is damaged.
	res := check(srv, "while full")
	chair := ts.NewClient(srv.Conn(), w.Chair.Token)
	if _, err := chair.Calls.GetCall(chair.Ctx(t), &candorv1.GetCallRequest{Name: call}); err != nil {
		t.Errorf("GetCall while full: %v", err)
	}
	auditor := ts.NewClient(srv.Conn(), w.Auditor.Token)
	if _, err := auditor.Audit.ListCallRecord(auditor.Ctx(t), &candorv1.ListCallRecordRequest{Call: call}); err != nil {
		t.Errorf("ListCallRecord while full: %v", err)
	}
	if _, err := auditor.Audit.GetInclusionProof(auditor.Ctx(t), &candorv1.GetInclusionProofRequest{Index: res.Size - 1}); err != nil {
		t.Errorf("GetInclusionProof while full: %v", err)
	}

	// Space returns: writes resume.
	srv = vol.restore(t, srv)
	for i := range 10 {
		if err := round(srv, i); err != nil {
			t.Fatalf("write after space returned: %v", err)
		}
	}
	check(srv, "after space returned")

	// At rest too: a restart re-checks the stored tree against its newest checkpoint.
	srv.Stop()
	srv = vol.start(t)
	res = check(srv, "after a restart")
	t.Logf("log of %d entries verified against %d checkpoints, %d acknowledged writes, %d lost", res.Size, res.Checkpoints, res.Acked, res.Lost)
}

// wantStorageFull checks that err is the server's clear refusal of a write for lack of space.
func wantStorageFull(t *testing.T, err error) {
	t.Helper()
	st, _ := status.FromError(err)
	reason := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if st.Code() != codes.ResourceExhausted || reason != "STORAGE_FULL" {
		t.Fatalf("write on a full volume: code %s, reason %q, message %q; want ResourceExhausted STORAGE_FULL", st.Code(), reason, st.Message())
	}
}

// tmpfsVolume is a data folder on a small tmpfs; a filler file takes the space writes leave.
type tmpfsVolume struct {
	dir    string
	filler string
}

func (v *tmpfsVolume) start(t *testing.T) *ts.Server {
	return ts.Start(t, ts.DataDir(filepath.Join(v.dir, "data")))
}

func (v *tmpfsVolume) exhaust(t *testing.T) {
	v.filler = filepath.Join(v.dir, "filler")
	f, err := os.Create(v.filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for written := 0; written <= tmpfsSize; written += len(chunk) {
		_, err := f.Write(chunk)
		if err == nil {
			continue
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatal(err)
		}
		// Leave a little room, for the writes to fill.
		if err := f.Truncate(int64(max(written-fillSlack, 0))); err != nil {
			t.Fatal(err)
		}
		t.Logf("filler takes %d KiB and leaves %d KiB free", max(written-fillSlack, 0)>>10, fillSlack>>10)
		return
	}
	t.Fatal("filled more than the volume's size without ENOSPC")
}

func (v *tmpfsVolume) restore(t *testing.T, srv *ts.Server) *ts.Server {
	if err := os.Remove(v.filler); err != nil {
		t.Fatal(err)
	}
	return srv
}

// mountTmpfs mounts a tmpfs of size bytes in a temp folder, unmounted when the test ends.
func mountTmpfs(t *testing.T, size int) (string, error) {
	if os.Geteuid() != 0 {
		return "", errors.New("not root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		return "", errors.New(err.Error() + ": " + string(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir, nil
}

// cappedVolume is a data folder whose bbolt file the daemon caps (MaxDBSize); space returns when
// the server restarts with a larger cap.
type cappedVolume struct {
	dir   string
	limit int
}

func (v *cappedVolume) start(t *testing.T) *ts.Server {
	if v.limit == 0 {
		v.limit = dbCap
	}
	return ts.Start(t, ts.DataDir(v.dir), ts.MaxDBSize(v.limit))
}

func (v *cappedVolume) exhaust(*testing.T) {} // the writes fill the cap

func (v *cappedVolume) restore(t *testing.T, srv *ts.Server) *ts.Server {
	srv.Stop()
	v.limit = 64 * dbCap
	return v.start(t)
}
