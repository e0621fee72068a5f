package web

import (
	"net/http"
	"net/url"
	"strings"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// blankInterestRows is how many empty interest rows the SOI form offers beyond the current ones:
// without script, rows cannot be added on the page, so a few spare ones are always there.
const blankInterestRows = 3

// soiData is the SOI page.
type soiData struct {
	Current  *candorv1.StatementOfInterest
	Versions []*candorv1.StatementOfInterest
	Form     soiForm
}

// soiForm is the SOI fields as a form shows them: from the current version, or from a refused form.
type soiForm struct {
	// Prefix is prepended to field ids, so the SOI fields can sit in more than one form on a page.
	Prefix                         string
	Employer, JobTitle, Represents string
	Groups                         string // one per line
	Interests                      []interestRow
	Other                          string
}

type interestRow struct {
	N                    int
	Organization, Nature string
}

// soiFormFor fills the SOI fields: from a refused form (flash values) when there is one for form,
// else from soi.
func soiFormFor(v *view, form, prefix string, soi *candorv1.StatementOfInterest) soiForm {
	f := soiForm{Prefix: prefix}
	if v.Flash != nil && v.Flash.Form == form && v.Flash.Values != nil {
		vals := url.Values(v.Flash.Values)
		f.Employer, f.JobTitle, f.Represents = vals.Get("employer"), vals.Get("job_title"), vals.Get("represents")
		f.Groups, f.Other = vals.Get("stakeholder_groups"), vals.Get("other_interests")
		orgs, natures := vals["interest_org"], vals["interest_nature"]
		for i := range orgs {
			nat := ""
			if i < len(natures) {
				nat = natures[i]
			}
			if strings.TrimSpace(orgs[i]) != "" || strings.TrimSpace(nat) != "" {
				f.Interests = append(f.Interests, interestRow{Organization: orgs[i], Nature: nat})
			}
		}
	} else if soi != nil {
		f.Employer, f.JobTitle, f.Represents = soi.GetEmployer(), soi.GetJobTitle(), soi.GetRepresents()
		f.Groups, f.Other = strings.Join(soi.GetStakeholderGroups(), "\n"), soi.GetOtherInterests()
		for _, in := range soi.GetInterests() {
			f.Interests = append(f.Interests, interestRow{Organization: in.GetOrganization(), Nature: in.GetNature()})
		}
	}
	for range blankInterestRows {
		f.Interests = append(f.Interests, interestRow{})
	}
	for i := range f.Interests {
		f.Interests[i].N = i + 1
	}
	return f
}

// soiFromForm reads the SOI fields of a posted form. Empty interest rows are skipped; a row with a
// nature but no organisation is sent as it is, so the server's sentence says what is missing.
func soiFromForm(r *http.Request) *candorv1.StatementOfInterest {
	soi := &candorv1.StatementOfInterest{
		Employer:       strings.TrimSpace(r.PostFormValue("employer")),
		JobTitle:       strings.TrimSpace(r.PostFormValue("job_title")),
		Represents:     strings.TrimSpace(r.PostFormValue("represents")),
		OtherInterests: strings.TrimSpace(r.PostFormValue("other_interests")),
	}
	for _, g := range splitLines(r.PostFormValue("stakeholder_groups")) {
		soi.StakeholderGroups = append(soi.StakeholderGroups, g)
	}
	orgs, natures := r.PostForm["interest_org"], r.PostForm["interest_nature"]
	for i := range orgs {
		org, nat := strings.TrimSpace(orgs[i]), ""
		if i < len(natures) {
			nat = strings.TrimSpace(natures[i])
		}
		if org == "" && nat == "" {
			continue
		}
		soi.Interests = append(soi.Interests, &candorv1.Interest{Organization: org, Nature: nat})
	}
	return soi
}

// splitLines returns the non-blank lines of s, trimmed.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// soiPage implements GET /soi.
func (s *Server) soiPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if sess.who.Admin {
		s.renderError(w, r, sess, http.StatusNotFound, "The administrator has no Statement of Interest: only participants keep one.")
		return
	}
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	cur, err := s.currentSOI(ctx)
	if err != nil {
		s.rpcFailed(w, r, sess, "soi", err)
		return
	}
	versions, err := listAll(ctx, func(ctx ctxT, tok string) ([]*candorv1.StatementOfInterest, string, error) {
		resp, err := s.participants.ListStatementOfInterestVersions(ctx, &candorv1.ListStatementOfInterestVersionsRequest{PageToken: tok, PageSize: 1000})
		return resp.GetStatementsOfInterest(), resp.GetNextPageToken(), err
	})
	if err != nil {
		s.rpcFailed(w, r, sess, "soi", err)
		return
	}
	// Newest first: the reader wants the latest change.
	for i, j := 0, len(versions)-1; i < j; i, j = i+1, j-1 {
		versions[i], versions[j] = versions[j], versions[i]
	}
	s.renderWith(w, r, sess, http.StatusOK, "soi", "My Statement of Interest", func(v *view) any {
		return soiData{Current: cur, Versions: versions, Form: soiFormFor(v, "soi", "soi-", cur)}
	})
}

// soiUpdate implements POST /soi: files a new version of the caller's SOI.
func (s *Server) soiUpdate(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.rpcCtx(r, sess)
	defer cancel()
	resp, err := s.participants.UpdateStatementOfInterest(ctx, &candorv1.UpdateStatementOfInterestRequest{
		StatementOfInterest: soiFromForm(r), RequestId: requestID(r),
	})
	if err != nil {
		s.refused(w, r, sess, "/soi#soi-form", "soi", err)
		return
	}
	s.accepted(w, r, sess, "/soi", "Your Statement of Interest version "+itoa(resp.GetStatementOfInterest().GetVersion())+" is on the record.", resp.GetReceipt())
}
