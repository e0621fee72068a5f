package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/translog"
	"github.com/candorhq/candor/internal/verify"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// This file is the auditor's side of the log: `candor audit verify`, `audit receipt` and
// `audit checkpoint`. The checking itself is package verify's (and translog's); these commands
// read the pinned key, run it, and say what was proven.

// failure is a local failure whose sentence is complete: describe prints it as it is, even when the
// error behind it came from an RPC.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }

// readVerifierKey reads the log's verifier key (log.pub: one line of C2SP signed-note verifier key
// text) from the file named by --key.
func readVerifierKey(path string) (string, error) {
	if path == "" {
		return "", usageErrorf("--key is required: the log's verifier key file (log.pub in the server's data folder), obtained from the operator, not from the server you are checking")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usageErrorf("cannot read --key: %v", err)
	}
	key := strings.TrimSpace(string(b))
	if _, err := note.NewVerifier(key); err != nil {
		return "", usageErrorf("--key %s does not hold a signed-note verifier key (the server's log.pub): %v", path, err)
	}
	return key, nil
}

// isTerminal reports whether w is a terminal, where progress may be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// verifyFailure turns an error from checking what (the log, a receipt, a checkpoint) into the
// sentence candor prints. Evidence (a bad entry, a root or proof that does not match, a checkpoint not
// signed by the key, a log that does not extend the one verified before) becomes a failure naming
// what failed; anything else (the server could not be reached, refused the token) is left for
// describe.
func verifyFailure(what string, err error) error {
	var ee *verify.EntryError
	if errors.As(err, &ee) {
		return &failure{msg: what + " failed verification at " + withoutPackagePrefixes(ee.Error())}
	}
	for _, evidence := range []error{
		verify.ErrRootMismatch, verify.ErrMissingEntries, verify.ErrNotConsistent, verify.ErrNoCheckpoint,
		verify.ErrServerCorrupt, verify.ErrEntryChanged,
		translog.ErrUnverifiedCheckpoint, translog.ErrOriginMismatch, translog.ErrMalformedCheckpoint,
		translog.ErrMalformedProof, translog.ErrProofFailed, translog.ErrBadKey,
	} {
		if errors.Is(err, evidence) {
			return &failure{msg: what + " failed verification: " + withoutPackagePrefixes(err.Error())}
		}
	}
	return err
}

// verifySummary is what `candor audit verify` proved; -o json prints it as it is.
type verifySummary struct {
	Origin           string `json:"origin"`
	TreeSize         int64  `json:"treeSize"`
	Root             string `json:"root"`
	Entries          int64  `json:"entries"`
	PreviousTreeSize *int64 `json:"previousTreeSize,omitempty"`
	StateDir         string `json:"stateDir"`

	Participants       int `json:"participants"`
	SOIVersions        int `json:"soiVersions"`
	Bodies             int `json:"bodies"`
	Memberships        int `json:"memberships"`
	Calls              int `json:"calls"`
	OpenCalls          int `json:"openCalls"`
	Declarations       int `json:"declarations"`
	Clearances         int `json:"clearances"`
	Ballots            int `json:"ballots"`
	Positions          int `json:"positions"`
	Results            int `json:"resultsRecomputed"`
	Proposals          int `json:"designationsProposed"`
	Objections         int `json:"objections"`
	Designations       int `json:"designationsFinal"`
	Appeals            int `json:"appeals"`
	MinorityStatements int `json:"minorityStatements"`
	Signatures         int `json:"cosignatures"`
}

func newSummary(sum verify.Summary, stateDir string) verifySummary {
	c := sum.Counts
	out := verifySummary{
		Origin: sum.Checkpoint.Origin, TreeSize: sum.TreeSize, Root: base64.StdEncoding.EncodeToString(sum.Root[:]),
		Entries: sum.Entries, StateDir: stateDir,
		Participants: c.Participants, SOIVersions: c.SOIVersions, Bodies: c.Bodies, Memberships: c.Memberships,
		Calls: c.Calls, OpenCalls: c.OpenCalls, Declarations: c.Declarations, Clearances: c.Clearances,
		Ballots: c.Ballots, Positions: c.Positions, Results: c.Results, Proposals: c.Proposals,
		Objections: c.Objections, Designations: c.Designations, Appeals: c.Appeals,
		MinorityStatements: c.MinorityStatements, Signatures: c.Signatures,
	}
	if sum.Previous != nil {
		size := sum.Previous.Size
		out.PreviousTreeSize = &size
	}
	return out
}

func newAuditVerifyCmd(a *app) *cobra.Command {
	var keyFile string
	c := &cobra.Command{
		Use:   "verify --key KEYFILE",
		Short: "Verify the whole log offline: signatures, Merkle root, consistency and the rules",
		Long: `Download the whole log and verify it, trusting nothing but the key in KEYFILE (the server's log.pub,
obtained from the operator by some other path than this server):

  - the newest checkpoint is signed by that key;
  - it extends the checkpoint this command verified last time for this log (kept in the config
    folder under logs/): a log that was rolled back or forked fails;
  - the root rebuilt from every entry equals the signed root: no entry was edited, removed, added
    or reordered;
  - the rules replayed from the entries alone hold: every accepted ballot and position followed a
    current declaration, not a recusal, allowed by the call's conflict policy; every recorded result
    equals the tally recomputed from the entries; the consensus workflow kept its order.

It prints a summary, or exits 1 naming the first bad entry. A progress bar is drawn on standard
error while it runs, only when standard error is a terminal and the output is not -o json. Reading the entries needs an auditor's or the admin's token, unless the server runs
with --public-audit.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := readVerifierKey(keyFile)
			if err != nil {
				return err
			}
			dir, err := a.configDir()
			if err != nil {
				return err
			}
			stateDir := filepath.Join(dir, "logs")
			cl, err := a.client()
			if err != nil {
				return err
			}
			opts := verify.Options{VerifierKey: key, StateDir: stateDir}
			bar := a.newProgress("verifying", "entries")
			opts.Progress = bar.callback()
			sum, err := verify.Log(cmd.Context(), cl.audit, opts)
			bar.done()
			if err != nil {
				return verifyFailure("the log", err)
			}
			out := newSummary(sum, stateDir)
			if a.jsonOutput() {
				b, err := json.MarshalIndent(out, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "%s\n", b)
				return err
			}
			return writeVerifySummary(a.stdout, out)
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the log's verifier key `FILE` (log.pub; required)")
	return c
}

func writeVerifySummary(w io.Writer, s verifySummary) error {
	previous := "none: first verification of this log here (the checkpoint is kept for next time)"
	if s.PreviousTreeSize != nil {
		previous = fmt.Sprintf("%d entries, verified before: this log extends it", *s.PreviousTreeSize)
	}
	var d details
	d.add("Log", s.Origin)
	d.add("Tree size", strconv.FormatInt(s.TreeSize, 10))
	d.add("Root", s.Root)
	d.add("Entries verified", strconv.FormatInt(s.Entries, 10))
	d.add("Previous checkpoint", previous)
	d.add("Participants", strconv.Itoa(s.Participants))
	d.add("SOI versions", strconv.Itoa(s.SOIVersions))
	d.add("Bodies", strconv.Itoa(s.Bodies))
	d.add("Memberships", strconv.Itoa(s.Memberships))
	d.add("Calls", fmt.Sprintf("%d (%d open)", s.Calls, s.OpenCalls))
	d.add("Declarations", strconv.Itoa(s.Declarations))
	d.add("Clearances", strconv.Itoa(s.Clearances))
	d.add("Ballots", strconv.Itoa(s.Ballots))
	d.add("Positions", strconv.Itoa(s.Positions))
	d.add("Results recomputed", strconv.Itoa(s.Results))
	d.add("Designations", fmt.Sprintf("%d proposed, %d objections, %d final, %d appeals", s.Proposals, s.Objections, s.Designations, s.Appeals))
	d.add("Minority statements", fmt.Sprintf("%d, %d co-signatures", s.MinorityStatements, s.Signatures))
	if err := d.write(w); err != nil {
		return err
	}
	grew := "its checkpoint is kept here, so the next run can check that the log only grows"
	if s.PreviousTreeSize != nil {
		grew = "it only grew since the last check"
	}
	_, err := fmt.Fprintf(w, "OK: every entry is in the tree the key signed; %s; every ballot and position followed a valid declaration; every result matches its recomputed tally.\n", grew)
	return err
}

// openUnverified reads a signed checkpoint note without checking its signature.
func openUnverified(signed []byte) (translog.Checkpoint, error) {
	_, err := note.Open(signed, nil)
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return translog.Checkpoint{}, fmt.Errorf("%w: not a signed note: %v", translog.ErrMalformedCheckpoint, err)
	}
	return translog.ParseCheckpoint([]byte(unverified.Note.Text))
}

// checkReceiptUnsigned checks a receipt's proofs without a key: that the entry is at its index in the
// tree the receipt's checkpoint names, and that the server's current tree (same origin) extends that
// tree. It proves nothing about who signed either checkpoint.
func checkReceiptUnsigned(ctx context.Context, audit candorv1.AuditServiceClient, r *candorv1.Receipt) error {
	cp, err := openUnverified(r.GetCheckpoint())
	if err != nil {
		return fmt.Errorf("the receipt's checkpoint: %w", err)
	}
	if err := translog.VerifyInclusion(r.GetLogIndex(), r.GetEntry(), r.GetInclusionProof(), cp); err != nil {
		return fmt.Errorf("receipt for entry %d: %w", r.GetLogIndex(), err)
	}
	resp, err := audit.GetCheckpoint(ctx, &candorv1.GetCheckpointRequest{})
	if err != nil {
		return err
	}
	cur, err := openUnverified(resp.GetCheckpoint())
	if err != nil {
		return fmt.Errorf("the server's checkpoint: %w", err)
	}
	if cur.Origin != cp.Origin {
		return fmt.Errorf("%w: the receipt is from log %q, the server keeps log %q", translog.ErrOriginMismatch, cp.Origin, cur.Origin)
	}
	if cur.Size < cp.Size {
		return fmt.Errorf("%w: the receipt's tree has %d entries, the server's now has %d (rolled back)", verify.ErrNotConsistent, cp.Size, cur.Size)
	}
	var proof [][]byte
	if cp.Size != 0 && cp.Size != cur.Size {
		cr, err := audit.GetConsistencyProof(ctx, &candorv1.GetConsistencyProofRequest{FirstSize: cp.Size, SecondSize: cur.Size})
		if err != nil {
			return err
		}
		if cr.GetSecondSize() != cur.Size {
			return fmt.Errorf("%w: asked for a proof to %d entries, got one to %d", verify.ErrNotConsistent, cur.Size, cr.GetSecondSize())
		}
		proof = cr.GetHashes()
	}
	if err := translog.VerifyConsistency(cp, cur, proof); err != nil {
		return fmt.Errorf("%w: from %d to %d entries: %w", verify.ErrNotConsistent, cp.Size, cur.Size, err)
	}
	return nil
}

func newAuditReceiptCmd(a *app) *cobra.Command {
	var keyFile string
	c := &cobra.Command{
		Use:   "receipt FILE [--key KEYFILE]",
		Short: "Check a saved receipt against the server's current log",
		Long: `Check a receipt candor saved (under the config folder, in receipts/<log>/<log index>.json):
its inclusion proof shows its entry at its index in the tree of its checkpoint, and a consistency
proof from the server shows that the server's current log still contains that tree, and so the entry.

With --key (the log's log.pub), both checkpoints must also be signed by that key: then the receipt
proves, to anyone who trusts the key, that the log committed to the entry. Without --key only the
proofs are checked, which shows that the server has not dropped or rewritten the entry since it
handed you the receipt, but not that the log's key signed anything.

It also fetches the entry at the receipt's index from the server and compares its bytes with the
receipt's entry: a server whose stored entry was altered or removed fails, naming the index. A
participant reads back the entries they wrote, so the receipts of your own writes are compared;
another person's receipt is compared only with an auditor's or the admin's token (or on a server
with --public-audit), and otherwise the output says the bytes were not compared.

The server asked is the configured one (--addr, CANDOR_ADDR); a receipt from another server is not
followed there with your token.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			key := ""
			if keyFile != "" {
				var err error
				if key, err = readVerifierKey(keyFile); err != nil {
					return err
				}
			}
			addr, r, err := readReceiptFile(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			// The receipt is checked against the configured server only: a receipt is a file anyone
			// can hand over, and following the address inside it would send the checker's token to
			// whatever server its author chose.
			if addr != "" && addr != a.opts.addr && !a.addrGiven {
				return &failure{msg: fmt.Sprintf("%s came from the server at %s, but candor is configured for %s and sends your token only there; to check it against %s, pass --addr %s",
					args[0], addr, a.opts.addr, addr, addr)}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			if key != "" {
				p, err := verify.ProofFromReceipt(r)
				if err != nil {
					return verifyFailure("the receipt", err)
				}
				if err := verify.Receipt(cmd.Context(), cl.audit, key, p); err != nil {
					return verifyFailure("the receipt", err)
				}
			} else if err := checkReceiptUnsigned(cmd.Context(), cl.audit, r); err != nil {
				return verifyFailure("the receipt", err)
			}
			// The proofs show the server's tree still holds the entry's hash; the entry's own bytes,
			// as the server serves them today, must be the receipt's too.
			compared, err := verify.ServedEntry(cmd.Context(), cl.audit, r.GetLogIndex(), r.GetEntry())
			if err != nil {
				return verifyFailure("the receipt", err)
			}
			return writeReceiptCheck(a, args[0], r, key != "", compared)
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the log's verifier key `FILE` (log.pub): also check the signatures")
	return c
}

// writeReceiptCheck says what a receipt check proved; compared says whether the server's entry
// was read and found equal to the receipt's.
func writeReceiptCheck(a *app, path string, r *candorv1.Receipt, signed, compared bool) error {
	cp, _ := openUnverified(r.GetCheckpoint()) // checked already
	entry := new(candorv1.LogEntry)
	what := "-"
	if proto.Unmarshal(r.GetEntry(), entry) == nil {
		what = fmt.Sprintf("%s by %s at %s", enumString(entry.GetKind()), orDash(entry.GetActor()), a.timeString(entry.GetTime()))
		if s := entry.GetSubject(); s != "" {
			what += ", about " + s
		}
	}
	if a.jsonOutput() {
		b, err := json.MarshalIndent(struct {
			Receipt          string `json:"receipt"`
			Origin           string `json:"origin"`
			LogIndex         int64  `json:"logIndex"`
			Kind             string `json:"kind"`
			TreeSize         int64  `json:"treeSize"`
			Included         bool   `json:"included"`
			StillInLog       bool   `json:"stillInLog"`
			EntryCompared    bool   `json:"entryCompared"`
			SignatureChecked bool   `json:"signatureChecked"`
		}{path, cp.Origin, r.GetLogIndex(), entry.GetKind().String(), cp.Size, true, true, compared, signed}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		return err
	}
	var d details
	d.add("Receipt", path)
	d.add("Log", cp.Origin)
	d.add("Entry", fmt.Sprintf("%d: %s", r.GetLogIndex(), what))
	d.add("Included", fmt.Sprintf("yes, in the tree of %d entries named by the receipt's checkpoint", cp.Size))
	d.add("Still in the log", fmt.Sprintf("yes, the server's current tree at %s extends that tree", a.opts.addr))
	if compared {
		d.add("Entry bytes", fmt.Sprintf("the same as the receipt's: the server serves them at index %d", r.GetLogIndex()))
	} else {
		d.add("Entry bytes", "not compared: a participant reads only the entries they wrote; another's needs an auditor's or the admin's token, or a server with --public-audit")
	}
	if signed {
		d.add("Signatures", "both checkpoints are signed by the key given")
	} else {
		d.add("Signatures", "not checked: pass --key with the log's log.pub to check them")
	}
	return d.write(a.stdout)
}

func newAuditCheckpointCmd(a *app) *cobra.Command {
	var keyFile string
	c := &cobra.Command{
		Use:   "checkpoint [--key KEYFILE]",
		Short: "Print the log's current signed checkpoint",
		Long: `Print the server's newest signed checkpoint exactly as the server signed it: a C2SP tlog-checkpoint
(origin, tree size, base64 root hash) in a C2SP signed note. With --key, check its signature first.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key := ""
			if keyFile != "" {
				var err error
				if key, err = readVerifierKey(keyFile); err != nil {
					return err
				}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.audit.GetCheckpoint(cmd.Context(), &candorv1.GetCheckpointRequest{})
			if err != nil {
				return err
			}
			signed := resp.GetCheckpoint()
			if len(signed) == 0 {
				return &failure{msg: "the server has signed no checkpoint yet: its log is empty"}
			}
			var cp translog.Checkpoint
			if key != "" {
				cp, err = translog.OpenCheckpoint(signed, key)
			} else {
				cp, err = openUnverified(signed)
			}
			if err != nil {
				return verifyFailure("the checkpoint", err)
			}
			if a.jsonOutput() {
				b, err := json.MarshalIndent(struct {
					Origin           string `json:"origin"`
					TreeSize         int64  `json:"treeSize"`
					Root             string `json:"root"`
					SignatureChecked bool   `json:"signatureChecked"`
					Note             string `json:"note"`
				}{cp.Origin, cp.Size, base64.StdEncoding.EncodeToString(cp.Hash[:]), key != "", string(signed)}, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "%s\n", b)
				return err
			}
			_, err = a.stdout.Write(signed)
			return err
		},
	}
	c.Flags().StringVar(&keyFile, "key", "", "the log's verifier key `FILE` (log.pub): check the signature")
	return c
}
