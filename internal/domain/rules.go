package domain

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// DefaultOptions are a vote's options when the chair names none.
var DefaultOptions = []string{"yes", "no", "abstain"}

// Abstain is the option that counts towards quorum but not as a vote cast.
const Abstain = "abstain"

// MaxDeadlineAhead bounds how far ahead a call's deadline may be: far enough for any real body, and
// well inside the nanosecond clock the server indexes deadlines by (it ends in 2262).
const MaxDeadlineAhead = 10 * 365 * 24 * time.Hour

// SOIContentHash is the SHA-256 of the deterministic protobuf encoding of s with its output-only
// fields (name, version, content_hash, create_time) cleared: two versions with the same content have
// the same hash.
func SOIContentHash(s *candorv1.StatementOfInterest) []byte {
	c := proto.Clone(s).(*candorv1.StatementOfInterest)
	c.Name, c.Version, c.ContentHash, c.CreateTime = "", 0, nil, nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		// Only invalid UTF-8 fails to marshal, and the transport refuses it before we get here.
		panic("domain: marshal statement of interest: " + err.Error())
	}
	h := sha256.Sum256(b)
	return h[:]
}

// CheckPin refuses a restatement "unchanged since version N" whose hash is not the current version's.
func CheckPin(current *candorv1.StatementOfInterest, pin []byte) error {
	if current == nil {
		return ErrSOIRequired
	}
	if !bytes.Equal(current.GetContentHash(), pin) {
		return ErrSOIPinNotCurrent
	}
	return nil
}

// PrepareCall fills a call's defaults and fixes its eligibility from the body's members at opening.
// members are the names of the body's members; chair opens it at now.
func PrepareCall(c *candorv1.Call, members []string, chair string, now time.Time) error {
	if c.Kind == candorv1.CallKind_CALL_KIND_UNSPECIFIED {
		c.Kind = candorv1.CallKind_CALL_KIND_VOTE
	}
	if c.Kind == candorv1.CallKind_CALL_KIND_CONSENSUS {
		// A consensus call counts positions, not options, and has no quorum or threshold: the
		// chair designates the level.
		c.Options = append([]string(nil), PositionLabels...)
		c.Quorum, c.Threshold = 0, candorv1.Threshold_THRESHOLD_UNSPECIFIED
		c.Consensus = &candorv1.ConsensusRecord{}
	} else {
		// A vote has no consensus record: anything the request carried there is not the chair's to write.
		c.Consensus = nil
		if len(c.Options) == 0 {
			c.Options = append([]string(nil), DefaultOptions...)
		}
		if err := checkOptions(c.Options); err != nil {
			return err
		}
	}
	if c.ConflictPolicy == candorv1.ConflictPolicy_CONFLICT_POLICY_UNSPECIFIED {
		c.ConflictPolicy = candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE
	}
	if c.Threshold == candorv1.Threshold_THRESHOLD_UNSPECIFIED && c.Kind == candorv1.CallKind_CALL_KIND_VOTE {
		c.Threshold = candorv1.Threshold_THRESHOLD_SIMPLE_MAJORITY
	}
	if c.Deadline != nil && !c.Deadline.AsTime().After(now) {
		return ErrDeadlinePassed
	}
	if c.Deadline != nil && c.Deadline.AsTime().After(now.Add(MaxDeadlineAhead)) {
		return ErrDeadlineTooFar
	}
	// Inclusion is the default: everyone in the body, unless the chair narrowed it with a written
	// reason that stays on the record.
	if len(c.EligibleParticipants) == 0 {
		c.EligibleParticipants = append([]string(nil), members...)
		c.EligibilityRestricted = false
	} else {
		if strings.TrimSpace(c.EligibilityJustification) == "" {
			return ErrJustificationRequired
		}
		isMember := make(map[string]bool, len(members))
		for _, m := range members {
			isMember[m] = true
		}
		named := make(map[string]bool, len(c.EligibleParticipants))
		for _, p := range c.EligibleParticipants {
			if !isMember[p] {
				return ErrEligibleNotMember
			}
			if named[p] {
				// Named twice, a participant would count twice in every denominator.
				return ErrDuplicateEligible
			}
			named[p] = true
		}
		c.EligibilityRestricted = true
	}
	if len(c.EligibleParticipants) == 0 {
		return ErrNoMembers
	}
	c.State = candorv1.CallState_CALL_STATE_OPEN
	c.OpenedBy = chair
	c.Result, c.ClosedBy, c.CloseTime = nil, "", nil
	return nil
}

// checkOptions refuses a vote's options that do not offer a choice, or that name one option twice:
// ballots match options ignoring case (see [MatchOption]), so "Yes" and "yes " would split one
// option's count.
func checkOptions(options []string) error {
	if len(options) < 2 {
		return ErrTooFewOptions
	}
	seen := make(map[string]bool, len(options))
	for _, o := range options {
		k := strings.ToLower(strings.TrimSpace(o))
		if seen[k] {
			return ErrDuplicateOption
		}
		seen[k] = true
	}
	return nil
}

// IsOpen reports whether a call accepts declarations and ballots at now: it is open and its deadline,
// if any, has not passed (the server may not have closed it yet).
func IsOpen(c *candorv1.Call, now time.Time) bool {
	if c.GetState() != candorv1.CallState_CALL_STATE_OPEN {
		return false
	}
	return c.Deadline == nil || now.Before(c.Deadline.AsTime())
}

// IsEligible reports whether participant p may declare and vote in c, by c's list of eligible
// participants. The checks below take eligibility as an argument instead of reading the list: the
// server's write path reads one eligibility key rather than decoding the whole list, and must
// never hold a call whose list is partial.
func IsEligible(c *candorv1.Call, p string) bool {
	for _, e := range c.GetEligibleParticipants() {
		if e == p {
			return true
		}
	}
	return false
}

// CheckDeclaration refuses a declaration in c at now by a participant who is eligible in c or not
// (see [IsEligible]). soiVersion is the participant's current SOI version (0: none) and restating
// says whether the declaration files a new version.
func CheckDeclaration(c *candorv1.Call, eligible bool, soiVersion int64, restating bool, now time.Time) error {
	if !IsOpen(c, now) {
		return ErrCallClosed
	}
	if !eligible {
		return ErrNotEligible
	}
	// A completed SOI is a precondition of taking part (GNSO Operating Procedures); a declaration
	// that files one satisfies it.
	if soiVersion == 0 && !restating {
		return ErrSOIRequired
	}
	return nil
}

// CheckConflictDescription refuses a declaration of a POTENTIAL or ACTUAL conflict that does not
// say what the conflict is: the description is what the chair and the auditors weigh.
func CheckConflictDescription(level candorv1.ConflictLevel, description string) error {
	if level > candorv1.ConflictLevel_CONFLICT_LEVEL_NONE && strings.TrimSpace(description) == "" {
		return ErrDescriptionRequired
	}
	return nil
}

// Standing is what the invariant reads about one participant in one call.
type Standing struct {
	// Declaration is the participant's current declaration for the call, or nil.
	Declaration *candorv1.Declaration
	// Clearance is the chair's ruling on that declaration, or nil.
	Clearance *candorv1.Clearance
	// SOIVersion is the participant's current SOI version.
	SOIVersion int64
	// Group is the participant's stakeholder group in the call's body, for the result's breakdown.
	Group string
}

// CheckBallot is the invariant that is the product: participant p, eligible in c or not (see
// [IsEligible]), may cast a ballot in c at now only with a current declaration for this open call,
// filed after it opened, not stale, not a recusal, and allowed by the call's conflict policy.
func CheckBallot(c *candorv1.Call, p string, eligible bool, s Standing, now time.Time) error {
	if c.GetKind() != candorv1.CallKind_CALL_KIND_VOTE {
		return ErrWrongKind
	}
	return checkStanding(c, p, eligible, s, now)
}

// CheckPosition is the same invariant for a position in a consensus call.
func CheckPosition(c *candorv1.Call, p string, eligible bool, s Standing, now time.Time) error {
	if c.GetKind() != candorv1.CallKind_CALL_KIND_CONSENSUS {
		return ErrWrongKind
	}
	return checkStanding(c, p, eligible, s, now)
}

func checkStanding(c *candorv1.Call, p string, eligible bool, s Standing, now time.Time) error {
	if !IsOpen(c, now) {
		return ErrCallClosed
	}
	if !eligible {
		return ErrNotEligible
	}
	d := s.Declaration
	if d == nil || d.GetParticipant() != p || !strings.HasPrefix(d.GetName(), c.GetName()+"/") ||
		d.GetCreateTime().AsTime().Before(c.GetOpenTime().AsTime()) {
		return ErrDeclarationRequired
	}
	if IsStale(s) {
		return ErrDeclarationStale
	}
	if Recused(c, s) {
		return ErrRecused
	}
	if NeedsClearance(c, d) && !clearedToVote(d, s.Clearance) {
		return ErrDeclarationNotClear
	}
	return nil
}

// IsStale reports whether the participant's current declaration is stale: it restated an SOI version
// that is no longer their current one. A participant who declares again supersedes it, so the
// declaration in s is always the newest one; without one, nothing is stale.
func IsStale(s Standing) bool {
	return s.Declaration != nil && s.Declaration.GetSoiVersion() != s.SOIVersion
}

// SetsAsideStale reports whether, under c's policy, a ballot or position whose caster's declaration
// is stale at close is left out of the count: under RECUSE and REVIEW a conflict must be known
// before the ballot counts, and a stale declaration no longer says what the participant's interests
// are. Under DISCLOSE it counts and is flagged.
func SetsAsideStale(c *candorv1.Call) bool {
	return c.GetConflictPolicy() != candorv1.ConflictPolicy_CONFLICT_POLICY_DISCLOSE
}

// Recused reports whether the participant stands recused: by their own intent, by the RECUSE policy
// for an ACTUAL conflict, or by the chair's ruling under REVIEW. Recusals are not abstentions.
func Recused(c *candorv1.Call, s Standing) bool {
	d := s.Declaration
	if d == nil {
		return false
	}
	if d.GetIntent() == candorv1.Intent_INTENT_RECUSE {
		return true
	}
	if c.GetConflictPolicy() == candorv1.ConflictPolicy_CONFLICT_POLICY_RECUSE &&
		d.GetConflictLevel() == candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL {
		return true
	}
	cl := s.Clearance
	return cl != nil && cl.GetDeclaration() == d.GetName() &&
		cl.GetDecision() == candorv1.ClearanceDecision_CLEARANCE_DECISION_RECUSAL_REQUIRED
}

// NeedsClearance reports whether, under c's policy, declaration d needs the chair's ruling before a
// ballot counts: REVIEW policy and a POTENTIAL or ACTUAL conflict by a participant who means to take part.
func NeedsClearance(c *candorv1.Call, d *candorv1.Declaration) bool {
	return c.GetConflictPolicy() == candorv1.ConflictPolicy_CONFLICT_POLICY_REVIEW &&
		d.GetConflictLevel() != candorv1.ConflictLevel_CONFLICT_LEVEL_NONE &&
		d.GetIntent() != candorv1.Intent_INTENT_RECUSE
}

func clearedToVote(d *candorv1.Declaration, cl *candorv1.Clearance) bool {
	return cl != nil && cl.GetDeclaration() == d.GetName() &&
		cl.GetDecision() == candorv1.ClearanceDecision_CLEARANCE_DECISION_CLEARED
}

// CheckClearance refuses chair's ruling on declaration d (nil: none) in c at now. Nobody rules on
// their own conflict.
func CheckClearance(c *candorv1.Call, d *candorv1.Declaration, chair string, now time.Time) error {
	if !IsOpen(c, now) {
		return ErrCallClosed
	}
	if d == nil {
		return ErrDeclarationRequired
	}
	if d.GetParticipant() == chair {
		return ErrSelfClearance
	}
	if !NeedsClearance(c, d) {
		return ErrClearanceNotNeeded
	}
	return nil
}

// MatchOption returns the call's spelling of option, compared ignoring case.
func MatchOption(c *candorv1.Call, option string) (string, error) {
	for _, o := range c.GetOptions() {
		if strings.EqualFold(o, option) {
			return o, nil
		}
	}
	return "", ErrUnknownOption
}

// Tally computes a call's result at close. standings holds every eligible participant's standing at
// close (their current declaration, its clearance, and their SOI version at close), by name; ballots
// their current ballots (for a consensus call, their positions as ballots: see [PositionBallots]), by
// name. The server and the auditor's replay both call it, so every rule below is checked offline.
//
// What happens to a ballot on record depends on its caster's standing at close, checked in this order:
//   - recused (see [Recused]): left out, listed under recused. A later recusal withdraws an earlier
//     ballot, stale or not.
//   - stale declaration (see [IsStale]): the SOI changed after the declaration the ballot rests on,
//     so it may now name an affected party nobody has weighed. Listed under stale and counted in
//     the group's stale figure; under DISCLOSE it counts and is flagged, under RECUSE and REVIEW
//     it is set aside (see [SetsAsideStale]). Declaring again before close supersedes the stale
//     declaration, and the ballot is then weighed against the new one like any other.
//   - uncleared (REVIEW): the current, not stale, declaration names a conflict the chair has not
//     cleared: set aside, listed under uncleared. A stale declaration is reported as stale only,
//     since the participant must declare again first and the new declaration needs its own ruling.
//   - otherwise counted, and flagged when cast under a declared conflict.
//
// Every figure is also broken down by stakeholder group.
func Tally(c *candorv1.Call, standings map[string]Standing, ballots map[string]*candorv1.Ballot) *candorv1.Result {
	r := &candorv1.Result{
		Eligible: int32(len(c.GetEligibleParticipants())),
		Quorum:   c.GetQuorum(),
	}
	counts := make(map[string]int32, len(c.GetOptions()))
	groups := newGroupTallies(c)
	for _, p := range c.GetEligibleParticipants() {
		s := standings[p]
		g := groups.get(s.Group)
		g.Eligible++
		if s.Declaration == nil {
			r.Undeclared = append(r.Undeclared, p)
		} else {
			g.Declared++
			if s.Declaration.GetConflictLevel() > candorv1.ConflictLevel_CONFLICT_LEVEL_NONE {
				g.Conflicts++
			}
		}
		if Recused(c, s) {
			r.Recused = append(r.Recused, p)
			g.Recusals++
			continue
		}
		b := ballots[p]
		if b == nil {
			continue
		}
		// An SOI changed after the declaration: the ballot rests on a statement that is no longer
		// the participant's.
		stale := IsStale(s)
		if stale {
			r.Stale = append(r.Stale, p)
			g.Stale++
			if SetsAsideStale(c) {
				continue
			}
		}
		// A conflict declared after the ballot still bears on it: under REVIEW it counts only once
		// the chair has cleared the current declaration, and under any policy it is flagged.
		if s.Declaration != nil && NeedsClearance(c, s.Declaration) && !clearedToVote(s.Declaration, s.Clearance) {
			r.Uncleared = append(r.Uncleared, p)
			continue
		}
		level := max(b.GetConflictLevel(), s.Declaration.GetConflictLevel())
		counts[b.GetOption()]++
		groups.count(s.Group, b.GetOption())
		r.BallotsCounted++
		if strings.EqualFold(b.GetOption(), Abstain) {
			r.Abstentions++
		}
		if level > candorv1.ConflictLevel_CONFLICT_LEVEL_NONE || stale {
			r.Flagged = append(r.Flagged, &candorv1.FlaggedBallot{Participant: p, Option: b.GetOption(), ConflictLevel: level, Stale: stale})
		}
	}
	for _, o := range c.GetOptions() {
		r.Counts = append(r.Counts, &candorv1.OptionCount{Option: o, Count: counts[o]})
	}
	r.VotesCast = r.BallotsCounted - r.Abstentions
	if present := r.Eligible - int32(len(r.Recused)); present > 0 {
		r.Turnout = float64(r.BallotsCounted) / float64(present)
	}
	r.Groups = groups.list
	r.QuorumMet = r.BallotsCounted >= r.Quorum
	if c.GetKind() == candorv1.CallKind_CALL_KIND_CONSENSUS {
		return r // the chair designates the level; there is no vote outcome
	}
	switch {
	case !r.QuorumMet:
		r.Outcome = candorv1.Outcome_OUTCOME_NO_QUORUM
	default:
		r.Outcome = candorv1.Outcome_OUTCOME_NO_DECISION
		for _, oc := range r.Counts {
			if strings.EqualFold(oc.Option, Abstain) {
				continue
			}
			if meetsThreshold(c.GetThreshold(), oc.Count, r.VotesCast) {
				r.Outcome, r.WinningOption = candorv1.Outcome_OUTCOME_DECIDED, oc.Option
				break
			}
		}
	}
	return r
}

// meetsThreshold reports whether count of cast votes carries: more than half, or at least two thirds.
func meetsThreshold(t candorv1.Threshold, count, cast int32) bool {
	if cast == 0 {
		return false
	}
	if t == candorv1.Threshold_THRESHOLD_TWO_THIRDS {
		return 3*count >= 2*cast
	}
	return 2*count > cast
}
