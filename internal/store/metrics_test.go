package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/candorhq/candor/internal/store"
)

// TestMetricsCountCommittedWrites checks the write path's instruments against what the writers
// saw: the batches' sizes add up to the writes, each commit is timed, and the log's size gauge is
// the log's size.
func TestMetricsCountCommittedWrites(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	s, err := store.Open(filepath.Join(dir, "candor.db"), newNotary(t, dir), store.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const writers, each = 16, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if _, _, err := addParticipant(context.Background(), s, "x"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.Metric{}
	for _, f := range families {
		got[f.GetName()] = f.GetMetric()[0]
	}
	for _, name := range []string{
		"candor_store_writes_per_commit", "candor_store_commit_duration_seconds", "candor_store_fsync_duration_seconds",
		"candor_log_size_entries", "candor_log_checkpoint_age_seconds", "candor_store_file_size_bytes", "candor_store_free_pages",
	} {
		if got[name] == nil {
			t.Fatalf("%s is not registered", name)
		}
	}
	batches := got["candor_store_writes_per_commit"].GetHistogram()
	if sum := batches.GetSampleSum(); sum != writers*each {
		t.Errorf("writes per commit add up to %v, want %d", sum, writers*each)
	}
	commits := batches.GetSampleCount()
	if commits == 0 || commits > writers*each {
		t.Errorf("%d commits for %d writes", commits, writers*each)
	}
	for _, name := range []string{"candor_store_commit_duration_seconds", "candor_store_fsync_duration_seconds"} {
		if h := got[name].GetHistogram(); h.GetSampleCount() != commits || h.GetSampleSum() <= 0 {
			t.Errorf("%s: %d observations summing to %v, want %d positive", name, h.GetSampleCount(), h.GetSampleSum(), commits)
		}
	}
	if fsync, commit := got["candor_store_fsync_duration_seconds"].GetHistogram().GetSampleSum(), got["candor_store_commit_duration_seconds"].GetHistogram().GetSampleSum(); fsync > commit {
		t.Errorf("fsync time %v exceeds commit time %v, which contains it", fsync, commit)
	}
	if size := got["candor_log_size_entries"].GetGauge().GetValue(); size != writers*each {
		t.Errorf("candor_log_size_entries = %v, want %d", size, writers*each)
	}
	if age := got["candor_log_checkpoint_age_seconds"].GetGauge().GetValue(); age < 0 || age > 60 {
		t.Errorf("candor_log_checkpoint_age_seconds = %v just after a commit", age)
	}
	if size := got["candor_store_file_size_bytes"].GetGauge().GetValue(); size <= 0 {
		t.Errorf("candor_store_file_size_bytes = %v", size)
	}
}
