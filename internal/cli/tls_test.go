package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned makes a certificate for 127.0.0.1 and "candor.test", returning it and its PEM file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "candor test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"candor.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

func TestTLS(t *testing.T) {
	cert, caFile := selfSigned(t)
	addr, fake := startFake(t, &cert)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"verified by --ca", []string{"--ca", caFile}, ExitOK, ""},
		{"--server-name in the certificate", []string{"--ca", caFile, "--server-name", "candor.test"}, ExitOK, ""},
		{"--server-name not in the certificate", []string{"--ca", caFile, "--server-name", "other.test"}, ExitFailure, "could not be reached"},
		{"plaintext to a TLS server", nil, ExitFailure, "could not be reached"},
		{"--ca not a certificate", []string{"--ca", filepath.Join(t.TempDir())}, ExitUsage, "cannot read --ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.received())
			args := append([]string{"--addr", addr, "--token", "tok", "--timeout", "5s"}, tt.args...)
			r := runCLI(t, nil, "", append(args, "participant", "show")...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr: %s", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantErr)
			}
			reached := len(fake.received()) > before
			if reached != (tt.wantCode == ExitOK) {
				t.Errorf("request reached the server: %v", reached)
			}
		})
	}
}
