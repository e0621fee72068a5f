package cli

import (
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// conflictLevels maps --conflict values to levels.
var conflictLevels = map[string]candorv1.ConflictLevel{
	"none":      candorv1.ConflictLevel_CONFLICT_LEVEL_NONE,
	"potential": candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL,
	"actual":    candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL,
}

// declareFlags are the flags of `candor declare`.
type declareFlags struct {
	conflict    string
	description string
	recuse      bool
	soiFile     string
}

// declarationRequest checks the flags of `candor declare CALL` and builds the request without its
// restatement, which needs the server (the current SOI's hash) or a file.
func declarationRequest(call string, f *declareFlags) (*candorv1.FileDeclarationRequest, error) {
	if err := checkName("call", "CALL", call); err != nil {
		return nil, err
	}
	if f.conflict == "" {
		return nil, usageErrorf("--conflict is required: none, potential or actual")
	}
	level, ok := conflictLevels[f.conflict]
	if !ok {
		return nil, usageErrorf("--conflict must be none, potential or actual, not %q", f.conflict)
	}
	intent := candorv1.Intent_INTENT_PARTICIPATE
	if f.recuse {
		intent = candorv1.Intent_INTENT_RECUSE
	}
	return &candorv1.FileDeclarationRequest{
		Call:          call,
		ConflictLevel: level,
		Description:   f.description,
		Intent:        intent,
	}, nil
}

// soiRequired is the refusal the server would give a declaration without any SOI on file.
func soiRequired() error {
	st, err := status.New(codes.FailedPrecondition, "no statement of interest on file").WithDetails(&errdetails.ErrorInfo{
		Reason: domain.Reason(candorv1.ErrorReason_ERROR_REASON_SOI_REQUIRED),
		Domain: "candor.dev",
	})
	if err != nil {
		return status.Error(codes.FailedPrecondition, "no statement of interest on file")
	}
	return st.Err()
}

// parseSOIFile reads a protojson StatementOfInterest; unknown fields are refused so that a misspelt
// field is not silently dropped from a declaration.
func parseSOIFile(name string, b []byte) (*candorv1.StatementOfInterest, error) {
	soi := &candorv1.StatementOfInterest{}
	if err := protojson.Unmarshal(b, soi); err != nil {
		return nil, usageErrorf("--soi-file %s is not a protojson StatementOfInterest: %v", name, err)
	}
	return soi, nil
}

func newDeclareCmd(a *app) *cobra.Command {
	var f declareFlags
	c := &cobra.Command{
		Use:   "declare CALL --conflict none|potential|actual [--description D] [--recuse] [--soi-file F]",
		Short: "Restate your Statement of Interest and declare your conflict for a call",
		Long: `Restate your Statement of Interest and declare your conflict of interest for an open call; you must
declare before you vote or state a position. By default your current Statement of Interest is
restated as unchanged, pinned by its content hash; with --soi-file your restatement carries changes
and becomes your next version. If your Statement of Interest names a party the call affects, a
declaration of no conflict needs a --description saying why. Declaring again supersedes your earlier
declaration; both stay on the record. The receipt is saved.`,
		Args: exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := declarationRequest(args[0], &f)
			if err != nil {
				return err
			}
			var updated *candorv1.StatementOfInterest
			if f.soiFile != "" {
				b, err := a.readFile(f.soiFile)
				if err != nil {
					return usageErrorf("cannot read --soi-file: %v", err)
				}
				if updated, err = parseSOIFile(f.soiFile, b); err != nil {
					return err
				}
			}
			a.subject.call = args[0]
			a.subject.fields = map[string]string{"call": "CALL", "conflict_level": "--conflict", "description": "--description", "intent": "--recuse", "updated_soi": "--soi-file", "unchanged_soi_hash": "your current SOI"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			if updated != nil {
				req.Restatement = &candorv1.FileDeclarationRequest_UpdatedSoi{UpdatedSoi: updated}
			} else {
				cur, err := cl.participants.GetStatementOfInterest(cmd.Context(), &candorv1.GetStatementOfInterestRequest{})
				if noSOIYet(err) {
					// Whatever the server's reason, no current SOI means there is nothing to restate.
					return soiRequired()
				}
				if err != nil {
					return err
				}
				req.Restatement = &candorv1.FileDeclarationRequest_UnchangedSoiHash{UnchangedSoiHash: cur.GetStatementOfInterest().GetContentHash()}
			}
			resp, err := cl.calls.FileDeclaration(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeDeclaration(a, w, resp.GetDeclaration())
			})
		},
	}
	c.Flags().StringVar(&f.conflict, "conflict", "", "your conflict of interest on this call's matter: none, potential or actual (required)")
	c.Flags().StringVar(&f.description, "description", "", "what the conflict is, or why there is none")
	c.Flags().BoolVar(&f.recuse, "recuse", false, "recuse yourself from this call")
	c.Flags().StringVar(&f.soiFile, "soi-file", "", "restate with changes: a protojson StatementOfInterest in `FILE` (- for standard input)")
	return c
}

func writeDeclaration(a *app, w io.Writer, d *candorv1.Declaration) error {
	restated := "unchanged"
	if d.GetSoiChanged() {
		restated = "changed: new version"
	}
	var dd details
	dd.add("Declaration", d.GetName())
	dd.add("Participant", d.GetParticipant())
	dd.add("SOI version", soiVersion(d.GetSoiVersion())+" ("+restated+")")
	dd.add("SOI hash", hexHash(d.GetSoiContentHash()))
	dd.add("Conflict", enumString(d.GetConflictLevel()))
	dd.add("Intent", enumString(d.GetIntent()))
	dd.add("Description", cell(d.GetDescription()))
	dd.add("Supersedes", orDash(d.GetSupersedes()))
	dd.add("Filed", a.timeString(d.GetCreateTime()))
	return dd.write(w)
}

func newVoteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "vote CALL OPTION",
		Short: "Cast your ballot in a call (after declaring)",
		Long: `Cast your ballot in an open call. The server accepts it only if you have a current declaration for
the call that its conflict policy allows. You may vote again until the call closes: the last ballot
counts and every ballot stays on the record. The receipt is saved.`,
		Args: exactArgs("CALL", "OPTION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			a.subject.option, a.subject.action = args[1], "vote"
			a.subject.fields = map[string]string{"call": "CALL", "option": "OPTION"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.calls.CastBallot(cmd.Context(), &candorv1.CastBallotRequest{Call: args[0], Option: args[1]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				b := resp.GetBallot()
				var d details
				d.add("Ballot", b.GetName())
				d.add("Participant", b.GetParticipant())
				d.add("Option", cell(b.GetOption()))
				d.add("Declaration", orDash(b.GetDeclaration()))
				d.add("Conflict", enumString(b.GetConflictLevel()))
				d.add("Supersedes", orDash(b.GetSupersedes()))
				d.add("Cast", a.timeString(b.GetCreateTime()))
				return d.write(w)
			})
		},
	}
}
