package cli

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/candorhq/candor/internal/domain"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func newSOICmd(a *app) *cobra.Command {
	return newGroup("soi", "Keep and read Statements of Interest",
		newSOISetCmd(a),
		newSOIShowCmd(a),
		newSOIHistoryCmd(a),
	)
}

// soiFlags are the fields of `candor soi set`.
type soiFlags struct {
	employer, jobTitle, represents, other string
	interests, groups                     []string
	replace                               bool
}

func (f *soiFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.employer, "employer", "", "current employer")
	fs.StringVar(&f.jobTitle, "job-title", "", "job title at that employer")
	fs.StringVar(&f.represents, "represents", "", `whom you represent in your bodies: "self" or a named party`)
	fs.StringArrayVar(&f.interests, "interest", nil, `a financial, ownership or leadership interest as "ORGANISATION: nature"; repeat for each; --interest "" clears them`)
	fs.StringArrayVar(&f.groups, "group", nil, `a stakeholder group you belong to; repeat for each; --group "" clears them`)
	fs.StringVar(&f.other, "other", "", "other relevant interests, free text")
	fs.BoolVar(&f.replace, "replace", false, "start from an empty statement instead of your current one")
}

// soiFields maps SOI field paths to the flags of `candor soi set`.
var soiFields = map[string]string{
	"employer": "--employer", "job_title": "--job-title", "represents": "--represents",
	"interests": "--interest", "stakeholder_groups": "--group", "other_interests": "--other",
}

// buildSOI applies the flags that were given to a copy of base (nil or ignored with --replace) and
// returns the statement to file.
func buildSOI(base *candorv1.StatementOfInterest, f *soiFlags, changed func(name string) bool) (*candorv1.StatementOfInterest, error) {
	given := false
	for _, name := range []string{"employer", "job-title", "represents", "interest", "group", "other"} {
		given = given || changed(name)
	}
	if !given && !f.replace {
		return nil, usageErrorf("nothing to set: give at least one of --employer, --job-title, --represents, --interest, --group, --other (or --replace to file an empty statement)")
	}
	soi := &candorv1.StatementOfInterest{}
	if base != nil && !f.replace {
		soi = proto.CloneOf(base)
		// Output-only fields: the server sets them for the new version.
		soi.Name, soi.Version, soi.ContentHash, soi.CreateTime = "", 0, nil, nil
	}
	if changed("employer") {
		soi.Employer = f.employer
	}
	if changed("job-title") {
		soi.JobTitle = f.jobTitle
	}
	if changed("represents") {
		soi.Represents = f.represents
	}
	if changed("other") {
		soi.OtherInterests = f.other
	}
	if changed("group") {
		soi.StakeholderGroups = nil
		if !clears(f.groups) {
			for _, g := range f.groups {
				if strings.TrimSpace(g) == "" {
					return nil, usageErrorf(`--group must not be empty (a single --group "" clears the groups)`)
				}
				soi.StakeholderGroups = append(soi.StakeholderGroups, strings.TrimSpace(g))
			}
		}
	}
	if changed("interest") {
		soi.Interests = nil
		if !clears(f.interests) {
			for _, s := range f.interests {
				in, err := parseInterest(s)
				if err != nil {
					return nil, err
				}
				soi.Interests = append(soi.Interests, in)
			}
		}
	}
	return soi, nil
}

// noSOIYet reports whether err says the participant has no Statement of Interest on file.
func noSOIYet(err error) bool {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return false
	}
	if st.Code() == codes.NotFound {
		return true
	}
	r := domain.ParseReason(reasonOf(st))
	return r == candorv1.ErrorReason_ERROR_REASON_SOI_REQUIRED || r == candorv1.ErrorReason_ERROR_REASON_SOI_NOT_FOUND
}

// clears reports whether a repeated flag was given once, empty: the way to clear a list.
func clears(values []string) bool {
	return len(values) == 1 && strings.TrimSpace(values[0]) == ""
}

// parseInterest reads "ORGANISATION: nature of the interest".
func parseInterest(s string) (*candorv1.Interest, error) {
	org, nature, ok := strings.Cut(s, ":")
	org, nature = strings.TrimSpace(org), strings.TrimSpace(nature)
	if !ok || org == "" || nature == "" {
		return nil, usageErrorf(`--interest %q must read "ORGANISATION: nature of the interest", e.g. "Example Registry Inc.: shareholder"`, s)
	}
	return &candorv1.Interest{Organization: org, Nature: nature}, nil
}

func newSOISetCmd(a *app) *cobra.Command {
	var f soiFlags
	c := &cobra.Command{
		Use:   "set [--employer E] [--job-title T] [--represents R] [--interest \"ORG: nature\"]... [--group G]... [--other TEXT]",
		Short: "File a new version of your Statement of Interest",
		Long: `File a new version of your Statement of Interest. Fields you do not give keep their value from your
current version (unless --replace). Declarations you filed before the new version become stale: declare
again in open calls before you vote.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Check the flags before any round trip.
			if _, err := buildSOI(nil, &f, cmd.Flags().Changed); err != nil {
				return err
			}
			a.subject.fields = soiFields
			cl, err := a.client()
			if err != nil {
				return err
			}
			var base *candorv1.StatementOfInterest
			if !f.replace {
				cur, err := cl.participants.GetStatementOfInterest(cmd.Context(), &candorv1.GetStatementOfInterestRequest{})
				switch {
				case noSOIYet(err):
					// No statement yet: start from an empty one.
				case err != nil:
					return err
				default:
					base = cur.GetStatementOfInterest()
				}
			}
			soi, err := buildSOI(base, &f, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			resp, err := cl.participants.UpdateStatementOfInterest(cmd.Context(), &candorv1.UpdateStatementOfInterestRequest{StatementOfInterest: soi})
			if err != nil {
				return err
			}
			return a.written(resp, resp.GetReceipt(), func(w io.Writer) error {
				return writeSOI(a, w, resp.GetStatementOfInterest())
			})
		},
	}
	f.register(c.Flags())
	return c
}

func newSOIShowCmd(a *app) *cobra.Command {
	var version int64
	c := &cobra.Command{
		Use:   "show [PARTICIPANT]",
		Short: "Show a Statement of Interest; without PARTICIPANT, your own",
		Args:  rangeArgs(0, "PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &candorv1.GetStatementOfInterestRequest{Version: version}
			if len(args) == 1 {
				if err := checkName("participant", "PARTICIPANT", args[0]); err != nil {
					return err
				}
				req.Participant = args[0]
				a.subject.participant = args[0]
			}
			if version < 0 {
				return usageErrorf("--version must be positive, not %d", version)
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			resp, err := cl.participants.GetStatementOfInterest(cmd.Context(), req)
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(resp)
			}
			return writeSOI(a, a.stdout, resp.GetStatementOfInterest())
		},
	}
	c.Flags().Int64Var(&version, "version", 0, "version to show (default the current one)")
	return c
}

func newSOIHistoryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "history [PARTICIPANT]",
		Short: "List every version of a Statement of Interest; without PARTICIPANT, yours",
		Args:  rangeArgs(0, "PARTICIPANT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			who := ""
			if len(args) == 1 {
				if err := checkName("participant", "PARTICIPANT", args[0]); err != nil {
					return err
				}
				who = args[0]
				a.subject.participant = who
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			all, err := listAll(func(tok string) ([]*candorv1.StatementOfInterest, string, error) {
				resp, err := cl.participants.ListStatementOfInterestVersions(cmd.Context(), &candorv1.ListStatementOfInterestVersionsRequest{Participant: who, PageToken: tok})
				return resp.GetStatementsOfInterest(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			if a.jsonOutput() {
				return a.printJSON(&candorv1.ListStatementOfInterestVersionsResponse{StatementsOfInterest: all})
			}
			tw := newTable(a.stdout)
			row(tw, "VERSION", "FILED", "HASH", "EMPLOYER", "JOB TITLE", "REPRESENTS", "INTERESTS")
			for _, s := range all {
				row(tw, soiVersion(s.GetVersion()), a.timeString(s.GetCreateTime()), shortHash(s.GetContentHash()),
					short(s.GetEmployer(), 30), short(s.GetJobTitle(), 30), short(s.GetRepresents(), 30), short(interestList(s.GetInterests()), 50))
			}
			return tw.Flush()
		},
	}
}

func interestList(ins []*candorv1.Interest) string {
	parts := make([]string, len(ins))
	for i, in := range ins {
		parts[i] = interestString(in)
	}
	return strings.Join(parts, "; ")
}

func interestString(in *candorv1.Interest) string {
	return cell(in.GetOrganization()) + ": " + cell(in.GetNature())
}

// writeSOI prints one version of a Statement of Interest.
func writeSOI(a *app, w io.Writer, s *candorv1.StatementOfInterest) error {
	var d details
	d.add("Statement", s.GetName())
	d.add("Version", soiVersion(s.GetVersion()))
	d.add("Content hash", hexHash(s.GetContentHash()))
	d.add("Filed", a.timeString(s.GetCreateTime()))
	d.add("Employer", cell(s.GetEmployer()))
	d.add("Job title", cell(s.GetJobTitle()))
	d.add("Represents", cell(s.GetRepresents()))
	d.addList("Stakeholder groups", s.GetStakeholderGroups())
	ins := make([]string, len(s.GetInterests()))
	for i, in := range s.GetInterests() {
		ins[i] = interestString(in)
	}
	d.addList("Interests", ins)
	if strings.TrimSpace(s.GetOtherInterests()) == "" {
		d.add("Other interests", "-")
	}
	if err := d.write(w); err != nil {
		return err
	}
	writeText(w, "Other interests", s.GetOtherInterests())
	return nil
}
