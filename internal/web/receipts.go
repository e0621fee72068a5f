package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// receiptRecord is a receipt kept in a session for download.
type receiptRecord struct {
	LogIndex int64
	Origin   string
	TreeSize int64
	// What says what was recorded ("Your ballot").
	What string
	// doc is the JSON document `candor audit receipt FILE` reads (internal/cli's receiptFile).
	doc []byte
}

// FileName is the name the download is saved under.
func (r *receiptRecord) FileName() string { return fmt.Sprintf("candor-receipt-%d.json", r.LogIndex) }

// receiptFile is internal/cli's receipt document: the server the receipt came from, the log's
// origin, and the receipt as protojson. Kept in step with cli.receiptFile by a test that feeds a
// download to the CLI.
type receiptFile struct {
	Addr    string          `json:"addr"`
	Origin  string          `json:"origin,omitempty"`
	Receipt json.RawMessage `json:"receipt"`
}

// newReceiptRecord builds the record for r; nil when the server sent no receipt.
func (s *Server) newReceiptRecord(r *candorv1.Receipt, what string) *receiptRecord {
	if r == nil {
		return nil
	}
	origin, size := checkpointHead(r.GetCheckpoint())
	rj, err := protojson.Marshal(r)
	if err != nil {
		s.log.Error("web: encoding a receipt", "err", err)
		return nil
	}
	doc, err := json.MarshalIndent(receiptFile{Addr: s.cfg.GRPCAddr, Origin: origin, Receipt: rj}, "", "  ")
	if err != nil {
		s.log.Error("web: encoding a receipt", "err", err)
		return nil
	}
	return &receiptRecord{LogIndex: r.GetLogIndex(), Origin: origin, TreeSize: size, What: what, doc: append(doc, '\n')}
}

// checkpointHead reads the origin and tree size from a signed checkpoint's first two lines, for
// display only: `candor audit receipt` checks the signature and the proofs.
func checkpointHead(cp []byte) (origin string, size int64) {
	lines := strings.SplitN(string(cp), "\n", 3)
	if len(lines) < 2 {
		return "", 0
	}
	size, _ = strconv.ParseInt(lines[1], 10, 64)
	return lines[0], size
}

// receiptDownload implements GET /receipts/{index}: one of this session's receipts as the JSON
// document `candor audit receipt` accepts.
func (s *Server) receiptDownload(w http.ResponseWriter, r *http.Request, sess *session) {
	idx, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	var rec *receiptRecord
	if err == nil {
		rec = s.sessions.receipt(sess, idx)
	}
	if rec == nil {
		s.renderError(w, r, sess, http.StatusNotFound, "This session keeps no receipt with that log index. Receipts are kept for download only in the session that made the write.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rec.FileName()+`"`)
	w.Write(rec.doc)
}

// accepted records an accepted write: its receipt is kept for download and shown, with notice, on
// the page the browser is sent to.
func (s *Server) accepted(w http.ResponseWriter, r *http.Request, sess *session, to, notice string, rcpt *candorv1.Receipt) {
	rec := s.newReceiptRecord(rcpt, notice)
	if rec != nil {
		s.sessions.addReceipt(sess, rec)
	}
	s.sessions.setFlash(sess, &flash{Notice: notice, Receipt: rec})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// refused records a refused write: the server's sentence is shown beside the form, which is
// filled in again with what was sent (never the CSRF token). to should end in the form's anchor.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, sess *session, to, form string, err error) {
	if s.endIfUnauthenticated(w, r, err) {
		return
	}
	msg, reason := s.sentence(err, form)
	vals := make(map[string][]string, len(r.PostForm))
	for k, v := range r.PostForm {
		if k != "csrf" && k != "token" {
			vals[k] = v
		}
	}
	s.sessions.setFlash(sess, &flash{Form: form, Error: msg, Reason: reason, Values: vals})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// verifyCommand is the exact command an auditor runs to check the log offline.
func (s *Server) verifyCommand() string {
	return s.cliCommand("audit", "verify", "--key", s.logPub())
}

// receiptCommand is the command that checks a downloaded receipt.
func (s *Server) receiptCommand(rec *receiptRecord) string {
	return s.cliCommand("audit", "receipt", rec.FileName(), "--key", s.logPub())
}

func (s *Server) logPub() string {
	if s.cfg.LogPubPath == "" {
		return "log.pub"
	}
	return s.cfg.LogPubPath
}

// cliCommand spells a candor command line, with --addr when the server's address is known.
func (s *Server) cliCommand(args ...string) string {
	parts := []string{"candor"}
	if s.cfg.GRPCAddr != "" {
		parts = append(parts, "--addr", shellQuote(s.cfg.GRPCAddr))
	}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes a for a POSIX shell when it holds anything but safe characters.
func shellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
