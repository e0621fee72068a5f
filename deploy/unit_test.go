// Package deploy_test guards deploy/candord.service: the hardening directives it promises are
// there, so that deleting one fails `go test ./...` (systemd-analyze verify is not on every CI).
package deploy_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// unitDirectives parses a systemd unit into section -> key -> values, joining continued lines.
func unitDirectives(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	units := map[string]map[string][]string{}
	section, pending := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line, pending = pending+" "+line, ""
		}
		if strings.HasSuffix(line, `\`) {
			pending = strings.TrimSuffix(line, `\`)
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			units[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: not a directive: %q", path, line)
			}
			units[section][strings.TrimSpace(k)] = append(units[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return units
}

func TestUnitHardening(t *testing.T) {
	svc := unitDirectives(t, "candord.service")["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	want := map[string]string{
		"DynamicUser":             "yes",
		"User":                    "candor",
		"StateDirectory":          "candor",
		"StateDirectoryMode":      "0700",
		"UMask":                   "0077",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"NoNewPrivileges":         "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"CapabilityBoundingSet":   "",
		"SystemCallFilter":        "@system-service",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"Restart":                 "on-failure",
	}
	for k, v := range want {
		vals, ok := svc[k]
		if !ok {
			t.Errorf("%s= is missing, want %s=%s", k, k, v)
			continue
		}
		found := false
		for _, got := range vals {
			found = found || got == v
		}
		if !found {
			t.Errorf("%s = %q, want %q among them", k, vals, v)
		}
	}
	if exec := strings.Join(svc["ExecStart"], " "); !strings.Contains(exec, "--data ${STATE_DIRECTORY}") {
		t.Errorf("ExecStart = %q, want the data folder in the state directory (--data ${STATE_DIRECTORY})", exec)
	}
}

// TestUnitStopsAfterDrain checks TimeoutStopSec leaves the server its --shutdown-timeout to drain.
func TestUnitStopsAfterDrain(t *testing.T) {
	svc := unitDirectives(t, "candord.service")["Service"]
	exec := strings.Fields(strings.Join(svc["ExecStart"], " "))
	drain := ""
	for i, f := range exec {
		if f == "--shutdown-timeout" && i+1 < len(exec) {
			drain = exec[i+1]
		}
	}
	if drain == "" {
		t.Fatalf("ExecStart %q sets no --shutdown-timeout", exec)
	}
	d, err := time.ParseDuration(drain)
	if err != nil {
		t.Fatal(err)
	}
	stop, ok := svc["TimeoutStopSec"]
	if !ok || len(stop) != 1 {
		t.Fatalf("TimeoutStopSec = %q, want one value", stop)
	}
	s, err := time.ParseDuration(stop[0] + "s")
	if err != nil {
		t.Fatalf("TimeoutStopSec=%s: want plain seconds: %v", stop[0], err)
	}
	if s <= d {
		t.Errorf("TimeoutStopSec=%s, want more than --shutdown-timeout %s", stop[0], drain)
	}
}
