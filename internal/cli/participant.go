package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func newParticipantCmd(a *app) *cobra.Command {
	return newGroup("participant", "Add, list and show participants",
		newParticipantAddCmd(a),
		newParticipantListCmd(a),
		newParticipantShowCmd(a),
		newParticipantReissueTokenCmd(a),
		newParticipantDeactivateCmd(a),
	)
}

func newParticipantAddCmd(a *app) *cobra.Command {
	var email string
	c := &cobra.Command{
		Use:   "add DISPLAY_NAME",
		Short: "Add a participant and print their token, shown once (admin)",
		Args:  exactArgs("DISPLAY_NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.subject.fields = map[string]string{"display_name": "DISPLAY_NAME", "email": "--email"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.participants.CreateParticipant(cmd.Context(), &candorv1.CreateParticipantRequest{
				DisplayName: args[0],
				Email:       email,
			})
			if err != nil {
				return err
			}
			note := fmt.Sprintf("The token is shown once and cannot be shown again: give it to %s now (they pass it with --token or %s).", cell(resp.GetParticipant().GetDisplayName()), envToken)
			if a.jsonOutput() {
				fmt.Fprintln(a.stderr, note)
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				p := resp.GetParticipant()
				var d details
				d.add("Participant", p.GetName())
				d.add("Display name", cell(p.GetDisplayName()))
				d.add("Email", orDash(p.GetEmail()))
				d.add("Token", resp.GetToken())
				if err := d.write(w); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, note)
				return err
			})
		},
	}
	c.Flags().StringVar(&email, "email", "", "contact address (never written to the log)")
	return c
}

func newParticipantListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List participants",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			all, err := listAll(func(tok string) ([]*candorv1.Participant, string, error) {
				resp, err := cl.participants.ListParticipants(cmd.Context(), &candorv1.ListParticipantsRequest{PageToken: tok})
				return resp.GetParticipants(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(&candorv1.ListParticipantsResponse{Participants: all})
			}
			return writeParticipants(a, a.stdout, all)
		},
	}
}

func writeParticipants(a *app, w io.Writer, ps []*candorv1.Participant) error {
	tw := newTable(w)
	row(tw, "NAME", "DISPLAY NAME", "EMAIL", "AUDITOR", "SOI", "CREATED")
	for _, p := range ps {
		row(tw, p.GetName(), cell(p.GetDisplayName()), orDash(p.GetEmail()), yesNo(p.GetAuditor()), soiVersion(p.GetSoiVersion()), a.timeString(p.GetCreateTime()))
	}
	return tw.Flush()
}

func newParticipantShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show [PARTICIPANT]",
		Short: "Show a participant; without PARTICIPANT, the one the token belongs to",
		Args:  rangeArgs(0, "PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
				if err := checkName("participant", "PARTICIPANT", name); err != nil {
					return err
				}
				a.subject.participant = name
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.participants.GetParticipant(cmd.Context(), &candorv1.GetParticipantRequest{Name: name})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(resp)
			}
			return participantDetails(a, resp.GetParticipant()).write(a.stdout)
		},
	}
}

func participantDetails(a *app, p *candorv1.Participant) *details {
	var d details
	d.add("Participant", p.GetName())
	d.add("Display name", cell(p.GetDisplayName()))
	d.add("Email", orDash(p.GetEmail()))
	d.add("Auditor", yesNo(p.GetAuditor()))
	d.add("SOI version", soiVersion(p.GetSoiVersion()))
	d.add("Created", a.timeString(p.GetCreateTime()))
	if p.GetDeactivated() {
		d.add("Deactivated", a.timeString(p.GetDeactivateTime()))
	}
	return &d
}

func newAuditorCmd(a *app) *cobra.Command {
	grant := &cobra.Command{
		Use:   "grant PARTICIPANT",
		Short: "Give a participant the auditor role (admin)",
		Args:  exactArgs("PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName("participant", "PARTICIPANT", args[0]); err != nil {
				return err
			}
			a.subject.participant = args[0]
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.participants.GrantAuditor(cmd.Context(), &candorv1.GrantAuditorRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return participantDetails(a, resp.GetParticipant()).write(w)
			})
		},
	}
	return newGroup("auditor", "Grant the auditor role", grant)
}

// soiVersion prints an SOI version number, "-" for none.
func soiVersion(v int64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatInt(v, 10)
}

// notices is where candor writes remarks beside the answer: stdout for tables, stderr with -o json.
func (a *app) notices() io.Writer {
	if a.jsonOutput() {
		return a.stderr
	}
	return a.stdout
}
