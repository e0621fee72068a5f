package cli

import (
	"io"

	"github.com/spf13/cobra"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func newBodyCmd(a *app) *cobra.Command {
	return newGroup("body", "Create bodies and manage their members",
		newBodyCreateCmd(a),
		newBodyAddMemberCmd(a),
		newBodyListCmd(a),
		newBodyMembersCmd(a),
		newBodyRemoveMemberCmd(a),
	)
}

func newBodyCreateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "create TITLE",
		Short: "Create a body: a council, committee or working group (admin)",
		Args:  exactArgs("TITLE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.subject.fields = map[string]string{"title": "TITLE"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.bodies.CreateBody(cmd.Context(), &candorv1.CreateBodyRequest{Title: args[0]})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				b := resp.GetBody()
				var d details
				d.add("Body", b.GetName())
				d.add("Title", cell(b.GetTitle()))
				d.add("Created", a.timeString(b.GetCreateTime()))
				return d.write(w)
			})
		},
	}
}

// roles maps --role values to roles.
var roles = map[string]candorv1.Role{
	"chair":  candorv1.Role_ROLE_CHAIR,
	"member": candorv1.Role_ROLE_MEMBER,
}

func newBodyAddMemberCmd(a *app) *cobra.Command {
	var role, group string
	c := &cobra.Command{
		Use:   "add-member BODY PARTICIPANT --role chair|member [--group G]",
		Short: "Add a participant to a body, or change their role or group (admin)",
		Args:  exactArgs("BODY", "PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := addMemberRequest(args, role, group)
			if err != nil {
				return err
			}
			a.subject.body, a.subject.participant = req.GetBody(), req.GetParticipant()
			a.subject.fields = map[string]string{"body": "BODY", "participant": "PARTICIPANT", "role": "--role", "stakeholder_group": "--group"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.bodies.AddMember(cmd.Context(), req)
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				m := resp.GetMembership()
				var d details
				d.add("Membership", m.GetName())
				d.add("Participant", m.GetParticipant())
				d.add("Role", enumString(m.GetRole()))
				d.add("Group", cell(m.GetStakeholderGroup()))
				d.add("Added", a.timeString(m.GetCreateTime()))
				return d.write(w)
			})
		},
	}
	c.Flags().StringVar(&role, "role", "", "chair or member (required)")
	c.Flags().StringVar(&group, "group", "", "stakeholder group in this body, e.g. At-Large")
	return c
}

func addMemberRequest(args []string, role, group string) (*candorv1.AddMemberRequest, error) {
	if err := checkName("body", "BODY", args[0]); err != nil {
		return nil, err
	}
	if err := checkName("participant", "PARTICIPANT", args[1]); err != nil {
		return nil, err
	}
	if role == "" {
		return nil, usageErrorf("--role is required: chair or member")
	}
	r, ok := roles[role]
	if !ok {
		return nil, usageErrorf("--role must be chair or member, not %q", role)
	}
	return &candorv1.AddMemberRequest{Body: args[0], Participant: args[1], Role: r, StakeholderGroup: group}, nil
}

func newBodyListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List bodies",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			all, err := listAll(func(tok string) ([]*candorv1.Body, string, error) {
				resp, err := cl.bodies.ListBodies(cmd.Context(), &candorv1.ListBodiesRequest{PageToken: tok})
				return resp.GetBodies(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(&candorv1.ListBodiesResponse{Bodies: all})
			}
			tw := newTable(a.stdout)
			row(tw, "NAME", "TITLE", "CREATED")
			for _, b := range all {
				row(tw, b.GetName(), cell(b.GetTitle()), a.timeString(b.GetCreateTime()))
			}
			return tw.Flush()
		},
	}
}

func newBodyMembersCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "members BODY",
		Short: "List a body's members with their roles and groups",
		Args:  exactArgs("BODY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkName("body", "BODY", args[0]); err != nil {
				return err
			}
			a.subject.body = args[0]
			cl, err := a.client()
			if err != nil {
				return err
			}
			all, err := listAll(func(tok string) ([]*candorv1.Membership, string, error) {
				resp, err := cl.bodies.ListMembers(cmd.Context(), &candorv1.ListMembersRequest{Body: args[0], PageToken: tok})
				return resp.GetMemberships(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(&candorv1.ListMembersResponse{Memberships: all})
			}
			// Memberships carry no display names: look them up once.
			people, err := listAll(func(tok string) ([]*candorv1.Participant, string, error) {
				resp, err := cl.participants.ListParticipants(cmd.Context(), &candorv1.ListParticipantsRequest{PageToken: tok})
				return resp.GetParticipants(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			names := make(map[string]string, len(people))
			for _, p := range people {
				names[p.GetName()] = p.GetDisplayName()
			}
			tw := newTable(a.stdout)
			row(tw, "PARTICIPANT", "DISPLAY NAME", "ROLE", "GROUP", "ADDED")
			for _, m := range all {
				row(tw, m.GetParticipant(), cell(names[m.GetParticipant()]), enumString(m.GetRole()), cell(m.GetStakeholderGroup()), a.timeString(m.GetCreateTime()))
			}
			return tw.Flush()
		},
	}
}
