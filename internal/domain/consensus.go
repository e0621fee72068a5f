package domain

import (
	"errors"
	"strings"
	"time"
	"unicode"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// PositionLabels are a consensus call's "options": the labels its positions are counted under.
var PositionLabels = []string{"support", "support-with-concerns", "oppose", "abstain"}

// PositionLabel returns the label a position is counted under.
func PositionLabel(p candorv1.Position) string {
	switch p {
	case candorv1.Position_POSITION_SUPPORT:
		return "support"
	case candorv1.Position_POSITION_SUPPORT_WITH_CONCERNS:
		return "support-with-concerns"
	case candorv1.Position_POSITION_OPPOSE:
		return "oppose"
	case candorv1.Position_POSITION_ABSTAIN:
		return Abstain
	}
	return ""
}

// CheckStatement refuses a position that does not say what it needs to: opposition must give its
// reasons, because dissent belongs on the record with them.
func CheckStatement(p candorv1.Position, comment string) error {
	if p == candorv1.Position_POSITION_OPPOSE && strings.TrimSpace(comment) == "" {
		return ErrCommentRequired
	}
	return nil
}

// PositionBallots turns current positions into ballots on their labels, so one Tally counts both
// kinds of call.
func PositionBallots(ps []*candorv1.PositionStatement) map[string]*candorv1.Ballot {
	out := make(map[string]*candorv1.Ballot, len(ps))
	for _, p := range ps {
		out[p.GetParticipant()] = &candorv1.Ballot{
			Participant: p.GetParticipant(), Option: PositionLabel(p.GetPosition()), ConflictLevel: p.GetConflictLevel(),
		}
	}
	return out
}

// groupTallies accumulates a result's per-group figures, in the order groups are first seen.
type groupTallies struct {
	options []string
	byName  map[string]*candorv1.GroupTally
	list    []*candorv1.GroupTally
}

func newGroupTallies(c *candorv1.Call) *groupTallies {
	return &groupTallies{options: c.GetOptions(), byName: map[string]*candorv1.GroupTally{}}
}

func (g *groupTallies) get(name string) *candorv1.GroupTally {
	t := g.byName[name]
	if t == nil {
		t = &candorv1.GroupTally{StakeholderGroup: name}
		for _, o := range g.options {
			t.Counts = append(t.Counts, &candorv1.OptionCount{Option: o})
		}
		g.byName[name] = t
		g.list = append(g.list, t)
	}
	return t
}

func (g *groupTallies) count(name, option string) {
	for _, oc := range g.get(name).Counts {
		if oc.Option == option {
			oc.Count++
		}
	}
}

// NormalizeOrg folds an organisation's name for comparison: case and everything but letters and
// digits are ignored, so "Example Registry, Inc." matches "example registry inc".
func NormalizeOrg(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// AffectedMatches returns the call's affected parties that the SOI names: as employer, as the party
// represented, or as an organisation the participant has an interest in.
func AffectedMatches(c *candorv1.Call, soi *candorv1.StatementOfInterest) []string {
	if soi == nil || len(c.GetAffectedParties()) == 0 {
		return nil
	}
	named := map[string]bool{}
	for _, o := range []string{soi.GetEmployer(), soi.GetRepresents()} {
		if n := NormalizeOrg(o); n != "" {
			named[n] = true
		}
	}
	for _, in := range soi.GetInterests() {
		if n := NormalizeOrg(in.GetOrganization()); n != "" {
			named[n] = true
		}
	}
	var out []string
	for _, party := range c.GetAffectedParties() {
		if named[NormalizeOrg(party)] {
			out = append(out, party)
		}
	}
	return out
}

// CheckScreening refuses a declaration of no conflict without an explanation from a participant whose
// SOI names one of the call's affected parties.
func CheckScreening(c *candorv1.Call, soi *candorv1.StatementOfInterest, level candorv1.ConflictLevel, description string) error {
	if level == candorv1.ConflictLevel_CONFLICT_LEVEL_NONE && strings.TrimSpace(description) == "" &&
		len(AffectedMatches(c, soi)) > 0 {
		return ErrExplanationRequired
	}
	return nil
}

func requireConsensus(c *candorv1.Call) error {
	if c.GetKind() != candorv1.CallKind_CALL_KIND_CONSENSUS {
		return ErrWrongKind
	}
	return nil
}

// currentProposal returns the chair's newest proposal, or nil.
func currentProposal(c *candorv1.Call) *candorv1.Designation {
	ps := c.GetConsensus().GetProposals()
	if len(ps) == 0 {
		return nil
	}
	return ps[len(ps)-1]
}

// Objection windows: how long members may object to a proposed designation.
const (
	// DefaultObjectionWindow is the window when the chair sets none.
	DefaultObjectionWindow = 7 * 24 * time.Hour
	// MaxObjectionWindow is the longest window a chair may set: a designation cannot be held open
	// for a season.
	MaxObjectionWindow = 90 * 24 * time.Hour
)

// ObjectionWindow returns the objection window a chair asks for in whole seconds: 0 means
// [DefaultObjectionWindow]; anything below 0 or above [MaxObjectionWindow] is refused. The server
// calls it with the request's seconds; the auditor's replay calls it with the window the entry
// records (its objection deadline less its time), and requires the same window back.
func ObjectionWindow(seconds int64) (time.Duration, error) {
	if seconds < 0 || seconds > int64(MaxObjectionWindow/time.Second) {
		return 0, ErrObjectionWindowRange
	}
	if seconds == 0 {
		return DefaultObjectionWindow, nil
	}
	return time.Duration(seconds) * time.Second, nil
}

// CheckPropose refuses a chair's proposal (or revision) of the consensus level with an objection
// window of windowSeconds (see [ObjectionWindow]). Positions must be closed first, so the
// designation rests on a fixed record.
func CheckPropose(c *candorv1.Call, windowSeconds int64) error {
	if err := requireConsensus(c); err != nil {
		return err
	}
	if _, err := ObjectionWindow(windowSeconds); err != nil {
		return err
	}
	if c.GetState() != candorv1.CallState_CALL_STATE_CLOSED {
		return ErrCallStillOpen
	}
	if c.GetConsensus().GetFinal() != nil {
		return ErrDesignationFinal
	}
	if len(c.GetConsensus().GetProposals()) >= MaxProposals {
		return ErrTooManyProposals
	}
	return nil
}

// CheckObjection refuses participant p's objection at now: eligible participants may object to the
// current proposal until its window closes.
func CheckObjection(c *candorv1.Call, p string, now time.Time) error {
	if err := requireConsensus(c); err != nil {
		return err
	}
	if !IsEligible(c, p) {
		return ErrNotEligible
	}
	if c.GetConsensus().GetFinal() != nil {
		return ErrDesignationFinal
	}
	cur := currentProposal(c)
	if cur == nil {
		return ErrNoProposal
	}
	if !now.Before(cur.GetObjectionDeadline().AsTime()) {
		return ErrObjectionWindowClosed
	}
	for _, o := range c.GetConsensus().GetObjections() {
		if o.GetRevision() == cur.GetRevision() && o.GetParticipant() == p {
			return ErrAlreadyObjected
		}
	}
	return nil
}

// CheckFinalize refuses the chair's finalisation at now: there must be a proposal whose objection
// window has passed, so that no member loses the right to object.
func CheckFinalize(c *candorv1.Call, now time.Time) error {
	if err := requireConsensus(c); err != nil {
		return err
	}
	if c.GetConsensus().GetFinal() != nil {
		return ErrDesignationFinal
	}
	cur := currentProposal(c)
	if cur == nil {
		return ErrNoProposal
	}
	if now.Before(cur.GetObjectionDeadline().AsTime()) {
		return ErrObjectionWindowOpen
	}
	return nil
}

// CheckAppeal refuses participant p's appeal: eligible participants may appeal a final designation,
// each at most [MaxAppealsPerMember] times.
func CheckAppeal(c *candorv1.Call, p string) error {
	if err := requireConsensus(c); err != nil {
		return err
	}
	if !IsEligible(c, p) {
		return ErrNotEligible
	}
	if c.GetConsensus().GetFinal() == nil {
		return ErrDesignationNotFinal
	}
	filed := 0
	for _, a := range c.GetConsensus().GetAppeals() {
		if a.GetParticipant() == p {
			filed++
		}
	}
	if filed >= MaxAppealsPerMember {
		return ErrTooManyAppeals
	}
	return nil
}

// ErrSelfCosigner refuses an author named among their own statement's co-signers: a co-signer is
// someone else standing behind the text, and an author who co-signs would count twice.
var ErrSelfCosigner = errors.New("domain: the author of a minority statement cannot also be its co-signer")

// CheckMinorityStatement refuses a minority statement by author with the named co-signers; stated
// holds everyone with a position on record in the call.
func CheckMinorityStatement(c *candorv1.Call, author string, cosigners []string, stated map[string]bool) error {
	if err := requireConsensus(c); err != nil {
		return err
	}
	if !stated[author] {
		return ErrPositionRequired
	}
	filed := 0
	for _, ms := range c.GetConsensus().GetMinorityStatements() {
		if ms.GetAuthor() == author {
			filed++
		}
	}
	if filed >= MaxStatementsPerAuthor {
		return ErrTooManyStatements
	}
	if len(cosigners) > MaxCosigners {
		return ErrTooManyCosigners
	}
	named := make(map[string]bool, len(cosigners))
	for _, p := range cosigners {
		if p == author {
			return ErrSelfCosigner
		}
		if named[p] {
			return ErrDuplicateCosigner
		}
		named[p] = true
	}
	for _, p := range cosigners {
		if !stated[p] {
			return ErrCosignerWithoutPosition
		}
	}
	return nil
}

// CheckSign refuses p's signature on statement s.
func CheckSign(s *candorv1.MinorityStatement, p string) error {
	named := false
	for _, c := range s.GetCosigners() {
		named = named || c == p
	}
	if !named {
		return ErrNotCosigner
	}
	for _, c := range s.GetSignedBy() {
		if c == p {
			return ErrAlreadySigned
		}
	}
	return nil
}
