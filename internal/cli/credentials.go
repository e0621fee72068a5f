package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"

	"github.com/candorhq/candor/internal/durable"
)

func newTokenCmd(a *app) *cobra.Command {
	return newGroup("token", "Replace your own token", newTokenRotateCmd(a))
}

func newTokenRotateCmd(a *app) *cobra.Command {
	var writeFile string
	c := &cobra.Command{
		Use:   "rotate [--write-token-file FILE]",
		Short: "Replace your token: the old one stops working at once; the new one is shown once",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.participants.RotateToken(cmd.Context(), &candorv1.RotateTokenRequest{})
			if err != nil {
				return err
			}
			note := "Your old token no longer works. The new one is shown once: keep it now."
			written := ""
			if writeFile != "" {
				if err := writeTokenFile(writeFile, resp.GetToken()); err != nil {
					// The rotation happened: the token must reach the user even if the file could not be written.
					note = fmt.Sprintf("Your old token no longer works, and the new one could not be written to %s (%v): copy it from above now.", writeFile, err)
				} else {
					written = writeFile
					note = fmt.Sprintf("Your old token no longer works; the new one is in %s (owner-only).", writeFile)
				}
			}
			if a.opts.tokenFile != "" && a.opts.tokenFile != written {
				note += fmt.Sprintf(" Update --token-file %s with the new token, or later commands will be refused.", a.opts.tokenFile)
			}
			if a.jsonOutput() {
				fmt.Fprintln(a.stderr, note)
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				d := participantDetails(a, resp.GetParticipant())
				if written == "" {
					d.add("Token", resp.GetToken())
				}
				if err := d.write(w); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, note)
				return err
			})
		},
	}
	c.Flags().StringVar(&writeFile, "write-token-file", "", "write the new token to `FILE` (owner-only, synced) instead of printing it")
	return c
}

// writeTokenFile replaces path with token, owner-only and durable.
func writeTokenFile(path, token string) error {
	return durable.WriteFile(path, []byte(token+"\n"), 0o600)
}

func newParticipantReissueTokenCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "reissue-token PARTICIPANT",
		Short: "Give a participant a new token; their old one stops working (admin)",
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
			resp, err := cl.participants.ReissueToken(cmd.Context(), &candorv1.ReissueTokenRequest{Name: args[0]})
			if err != nil {
				return err
			}
			note := fmt.Sprintf("Their old token no longer works. The new one is shown once: give it to %s now.", cell(resp.GetParticipant().GetDisplayName()))
			if a.jsonOutput() {
				fmt.Fprintln(a.stderr, note)
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				d := participantDetails(a, resp.GetParticipant())
				d.add("Token", resp.GetToken())
				if err := d.write(w); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, note)
				return err
			})
		},
	}
}

func newParticipantDeactivateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "deactivate PARTICIPANT",
		Short: "Stop a participant making any more changes; their record stays (admin)",
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
			resp, err := cl.participants.DeactivateParticipant(cmd.Context(), &candorv1.DeactivateParticipantRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return participantDetails(a, resp.GetParticipant()).write(w)
			})
		},
	}
}

func newBodyRemoveMemberCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove-member BODY PARTICIPANT",
		Short: "Take a participant out of a body; they stay on every record they made (admin)",
		Args:  exactArgs("BODY", "PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName("body", "BODY", args[0]); err != nil {
				return err
			}
			if err := checkName("participant", "PARTICIPANT", args[1]); err != nil {
				return err
			}
			a.subject.body, a.subject.participant = args[0], args[1]
			a.subject.fields = map[string]string{"body": "BODY", "participant": "PARTICIPANT"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.bodies.RemoveMember(cmd.Context(), &candorv1.RemoveMemberRequest{Body: args[0], Participant: args[1]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				m := resp.GetMembership()
				var d details
				d.add("Removed", m.GetName())
				d.add("Participant", m.GetParticipant())
				d.add("Role", enumString(m.GetRole()))
				d.add("Group", cell(m.GetStakeholderGroup()))
				if err := d.write(w); err != nil {
					return err
				}
				_, err := fmt.Fprintln(w, "Calls already open keep the eligibility fixed when they opened: what they filed stays and counts, but they can no longer declare or vote in them.")
				return err
			})
		},
	}
}
