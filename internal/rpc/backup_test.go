package rpc_test

import (
	"testing"

	ts "github.com/candorhq/candor/internal/testserver"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// TestStreamBackupAnnouncesItsSize checks that the first message of a backup carries the size of the
// whole copy, so a client can show progress from the start, and that it is the size the last
// message confirms and the stream carried.
func TestStreamBackupAnnouncesItsSize(t *testing.T) {
	w := ts.NewWorld(t, ts.Start(t, ts.Bufconn()))
	w.OpenVote(t, nil)
	stream, err := w.Admin.Audit.StreamBackup(w.Admin.Ctx(t), &candorv1.StreamBackupRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*candorv1.StreamBackupResponse
	var n int64
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, resp)
		n += int64(len(resp.Data))
		if len(resp.Data) == 0 {
			break
		}
	}
	first, last := msgs[0], msgs[len(msgs)-1]
	if len(msgs) < 2 || len(first.Data) == 0 {
		t.Fatalf("%d messages, the first with %d bytes: want data, then the last message", len(msgs), len(first.Data))
	}
	if first.SizeBytes != n || last.SizeBytes != n {
		t.Errorf("first message says %d bytes, last %d, the stream carried %d", first.SizeBytes, last.SizeBytes, n)
	}
	for _, m := range msgs[1 : len(msgs)-1] {
		if m.SizeBytes != 0 {
			t.Errorf("a middle message carries size %d", m.SizeBytes)
		}
	}
}
