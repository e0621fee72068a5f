package etcdtest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/candorhq/candor/internal/etcdtest"
)

const (
	testTimeout    = 90 * time.Second // the whole scenario
	attemptTimeout = 2 * time.Second  // one request; a stopped member may hold it this long
	// electionTimeout is shortened from the 500ms default: it sets how long the test keeps a member
	// stopped, and a longer one would only slow the test.
	electionTimeout = 300 * time.Millisecond
)

// TestCluster kills the leader, stops a follower past the election timeout, and restarts the killed
// member, checking after each fault that the cluster elects a leader and serves linearizable
// writes and reads.
func TestCluster(t *testing.T) {
	etcdtest.Build(t) // so the timings below leave the build out
	start := time.Now()
	c := etcdtest.Start(t, 3, etcdtest.Options{ElectionTimeout: electionTimeout})
	t.Logf("cluster healthy after %v", time.Since(start))
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	cli := c.Client(t)

	put(ctx, t, cli, "k0", "v0")
	get(ctx, t, cli, "k0", "v0")

	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatalf("WaitLeader: %v", err)
	}
	c.Kill(leader)
	killed := time.Now()
	if got, err := c.Leader(ctx); err == nil && got == leader {
		t.Fatalf("Leader right after killing member %d = %d, want another member or an error", leader, got)
	}
	newLeader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatalf("WaitLeader after killing %d: %v", leader, err)
	}
	if newLeader == leader {
		t.Fatalf("WaitLeader after killing member %d = %d, want another member", leader, newLeader)
	}
	put(ctx, t, cli, "k1", "v1") // while the old leader is down
	t.Logf("killed leader %d; %d leads and takes writes after %v", leader, newLeader, time.Since(killed))

	restarted := time.Now()
	c.Restart(leader)
	// A linearizable read through the restarted member alone sees the write it missed.
	get(ctx, t, c.MemberClient(t, leader), "k1", "v1")
	t.Logf("member %d rejoined after %v", leader, time.Since(restarted))

	follower := (newLeader + 1) % 3
	c.Stop(follower)
	time.Sleep(2 * electionTimeout) // the member misses elections' worth of heartbeats
	put(ctx, t, cli, "k2", "v2")    // two of three still make a quorum
	c.Cont(follower)
	continued := time.Now()
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatalf("WaitHealthy after SIGCONT of %d: %v", follower, err)
	}
	get(ctx, t, c.MemberClient(t, follower), "k2", "v2")
	t.Logf("member %d stopped for %v; healthy and caught up %v after SIGCONT", follower, 2*electionTimeout, time.Since(continued))
	put(ctx, t, cli, "k3", "v3")
	for i := range 3 {
		get(ctx, t, c.MemberClient(t, i), "k3", "v3")
	}
}

// TestMaxTxnOps checks that Options.MaxTxnOps reaches etcd: a Txn of that many puts commits,
// one more is refused.
func TestMaxTxnOps(t *testing.T) {
	c := etcdtest.Start(t, 1, etcdtest.Options{MaxTxnOps: 300})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	cli := c.Client(t)
	for _, tc := range []struct {
		ops     int
		wantErr bool
	}{{300, false}, {301, true}} {
		ops := make([]clientv3.Op, tc.ops)
		for j := range ops {
			ops[j] = clientv3.OpPut(fmt.Sprintf("k%d", j), "v")
		}
		_, err := cli.Txn(ctx).Then(ops...).Commit()
		if gotErr := err != nil; gotErr != tc.wantErr {
			t.Errorf("Txn of %d puts with MaxTxnOps 300: err = %v, want error: %v", tc.ops, err, tc.wantErr)
		}
	}
}

// put writes key=value, retrying each attempt that times out or fails while the cluster recovers.
func put(ctx context.Context, t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	retry(ctx, t, "put "+key, func(ctx context.Context) error {
		_, err := cli.Put(ctx, key, value)
		return err
	})
}

// get reads key linearizably, retrying failed attempts, and checks its value.
func get(ctx context.Context, t *testing.T, cli *clientv3.Client, key, want string) {
	t.Helper()
	var got string
	retry(ctx, t, "get "+key, func(ctx context.Context) error {
		resp, err := cli.Get(ctx, key)
		if err != nil {
			return err
		}
		got = ""
		if len(resp.Kvs) == 1 {
			got = string(resp.Kvs[0].Value)
		}
		return nil
	})
	if got != want {
		t.Fatalf("get %s through %s = %q, want %q", key, strings.Join(cli.Endpoints(), ","), got, want)
	}
}

// retry calls f with a per-attempt timeout until it succeeds or ctx is done.
func retry(ctx context.Context, t *testing.T, what string, f func(context.Context) error) {
	t.Helper()
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(actx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v (last attempt: %v)", what, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// BenchmarkTxn measures one Txn of 1 or 20 puts (100-byte values) against a 3-member cluster on
// loopback, from one goroutine and from eight. ns/op is wall time per Txn; p50-ms and p99-ms are
// the latencies one caller sees.
func BenchmarkTxn(b *testing.B) {
	c := etcdtest.Start(b, 3, etcdtest.Options{})
	cli := c.Client(b)
	value := strings.Repeat("v", 100)
	for _, puts := range []int{1, 20} {
		for _, workers := range []int{1, 8} {
			name := fmt.Sprintf("puts=%d/goroutines=%d", puts, workers)
			b.Run(name, func(b *testing.B) {
				var next atomic.Int64
				lat := make([][]time.Duration, workers)
				var wg sync.WaitGroup
				b.ResetTimer()
				for w := range workers {
					wg.Go(func() {
						ops := make([]clientv3.Op, puts)
						for {
							n := next.Add(1)
							if n > int64(b.N) {
								return
							}
							for j := range ops {
								ops[j] = clientv3.OpPut(fmt.Sprintf("bench/%s/%d/%d", name, n, j), value)
							}
							start := time.Now()
							_, err := cli.Txn(b.Context()).Then(ops...).Commit()
							lat[w] = append(lat[w], time.Since(start))
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				all := slices.Concat(lat...)
				slices.Sort(all)
				ms := func(q float64) float64 {
					return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond)
				}
				b.ReportMetric(ms(0.5), "p50-ms")
				b.ReportMetric(ms(0.99), "p99-ms")
			})
		}
	}
}
