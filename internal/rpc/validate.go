package rpc

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/secure/precis"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/candorhq/candor/internal/resource"
	"github.com/candorhq/candor/internal/service"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Limits on request fields, as documented in the .proto files.
const (
	maxTitle       = 200  // display names, titles, organisations, employer, job title, represents
	maxGroup       = 100  // stakeholder groups and options
	maxNote        = 500  // nature of an interest
	maxText        = 4000 // descriptions, justifications, notes, other interests
	maxMatter      = 10000
	maxEmail       = 254
	maxGroups      = 20
	maxInterests   = 50
	maxParties     = 50
	maxOptions     = 20
	maxEligible    = 10000
	maxPageSize    = 1000
	defaultPage    = 100
	maxEntries     = 1000
	maxQuorum      = 1_000_000
	maxSOIHashSize = 32
	maxStatement   = 20000
	maxCosigners   = 100
)

// violations collects field violations for one request.
type violations []*errdetails.BadRequest_FieldViolation

func (v *violations) add(field, format string, args ...any) {
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// err returns InvalidArgument with every violation, or nil.
func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	msg := v[0].Field + ": " + v[0].Description
	if len(v) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(v)-1)
	}
	return withInfo(codes.InvalidArgument, candorv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT, msg, v)
}

// text checks a free-text field (a description, matter, comment, statement): valid UTF-8, a length
// in characters within [min, max], and no control characters but line feeds and tabs.
//
// Line feeds keep paragraphs. Tabs are kept too: they move nothing on a terminal, they are common in
// pasted text, and the CLI shows them escaped in tables. Carriage returns are refused, as every other
// C0 and C1 control is: printed raw, "\r" lets text overwrite the line it is on (send "\n" alone;
// the CLI sends files as they are, so a file saved with CRLF line ends is refused, naming the field).
// Bidirectional formatting characters are allowed in free text, where right-to-left prose needs
// them; names and titles refuse them (see [violations.line]).
func (v *violations) text(field, s string, min, max int) {
	if !utf8.ValidString(s) {
		v.add(field, "must be valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < min && min == 1:
		v.add(field, "is required")
		return
	case n < min:
		v.add(field, "must be at least %d characters", min)
		return
	case n > max:
		v.add(field, "must be at most %d characters (got %d)", max, n)
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			v.add(field, "must not contain control characters (%U)", r)
			return
		}
	}
	if min > 0 && strings.TrimSpace(s) == "" {
		v.add(field, "must not be blank")
	}
}

// line checks a name or title (display names, body and call titles, organisations, employers,
// options, stakeholder groups): text on one line that the PRECIS Nickname profile (RFC 8266, the
// profile for names people show each other) accepts. That refuses control characters, bidirectional
// overrides and isolates, zero-width and other default-ignorable characters, and names that are only
// spaces, so a name cannot be blank to the eye, reorder what a reader sees, or pass for another.
// The value is checked, not rewritten: what is stored is what was sent.
func (v *violations) line(field, s string, min, max int) {
	n := len(*v)
	v.text(field, s, min, max)
	if len(*v) > n {
		return // one violation per field
	}
	if strings.ContainsAny(s, "\n\t") {
		v.add(field, "must be on one line")
		return
	}
	if s == "" {
		return
	}
	if _, err := precis.Nickname.String(s); err != nil {
		if r, ok := invisibleRune(s); ok {
			v.add(field, "must not contain invisible, formatting or control characters (%U)", r)
		} else {
			v.add(field, "must contain visible characters")
		}
	}
}

// invisibleRune returns the first rune of s the Nickname profile refuses on its own (spaces are
// allowed alone: they are refused only when nothing else is left).
func invisibleRune(s string) (rune, bool) {
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		if _, err := precis.Nickname.String(string(r)); err != nil {
			return r, true
		}
	}
	return 0, false
}

func (v *violations) participant(field, name string) uuid.UUID {
	id, err := resource.ParseParticipant(name)
	if err != nil {
		v.add(field, "must be a participant name, participants/{uuid} (got %q)", clip(name))
	}
	return id
}

// optionalParticipant allows "" (the caller).
func (v *violations) optionalParticipant(field, name string) uuid.UUID {
	if name == "" {
		return uuid.Nil
	}
	return v.participant(field, name)
}

func (v *violations) body(field, name string) uuid.UUID {
	id, err := resource.ParseBody(name)
	if err != nil {
		v.add(field, "must be a body name, bodies/{uuid} (got %q)", clip(name))
	}
	return id
}

func (v *violations) call(field, name string) (uuid.UUID, uuid.UUID) {
	b, c, err := resource.ParseCall(name)
	if err != nil {
		v.add(field, "must be a call name, bodies/{uuid}/calls/{uuid} (got %q)", clip(name))
	}
	return b, c
}

// enum checks an enum value is one of the declared values other than UNSPECIFIED (unless allowed).
func (v *violations) enum(field string, value int32, names map[int32]string, allowUnspecified bool) {
	if _, ok := names[value]; !ok || (value == 0 && !allowUnspecified) {
		v.add(field, "must be one of the declared values, not %d", value)
	}
}

// period checks an optional [start, end) period: each a valid time when set, and end after start
// when both are. Unset times are zero.
func (v *violations) period(startField string, start *timestamppb.Timestamp, endField string, end *timestamppb.Timestamp) (from, to time.Time) {
	if start != nil {
		if err := start.CheckValid(); err != nil {
			v.add(startField, "is not a valid time")
		}
		from = start.AsTime()
	}
	if end != nil {
		if err := end.CheckValid(); err != nil {
			v.add(endField, "is not a valid time")
		}
		to = end.AsTime()
	}
	if !to.IsZero() && !from.IsZero() && !from.Before(to) {
		v.add(endField, "must be after %s", startField)
	}
	return from, to
}

func (v *violations) pageSize(field string, n int32) int {
	switch {
	case n < 0 || n > maxPageSize:
		v.add(field, "must be between 0 and %d", maxPageSize)
	case n == 0:
		return defaultPage
	}
	return int(n)
}

// requestID checks an optional AIP-155 request id (empty, or a UUID) and returns the write's
// identity for retries: the id and a fingerprint of everything else req asks.
func (v *violations) requestID(field, id string, req proto.Message) service.Request {
	if id == "" {
		return service.Request{}
	}
	parsed, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		v.add(field, "must be a UUID (or empty)")
		return service.Request{}
	}
	c := proto.Clone(req)
	c.ProtoReflect().Clear(c.ProtoReflect().Descriptor().Fields().ByName("request_id"))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		v.add(field, "request cannot be fingerprinted: %v", err)
	}
	h := sha256.Sum256(b)
	// Compared as a UUID, not as text: a retry that spells the id in capitals is the same request.
	return service.Request{ID: parsed.String(), Fingerprint: h[:]}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// validateSOI checks a Statement of Interest's content fields. Output-only fields are ignored.
func (v *violations) soi(prefix string, s *candorv1.StatementOfInterest) {
	if s == nil {
		v.add(prefix, "is required")
		return
	}
	v.line(prefix+".employer", s.Employer, 0, maxTitle)
	v.line(prefix+".job_title", s.JobTitle, 0, maxTitle)
	v.line(prefix+".represents", s.Represents, 0, maxTitle)
	if len(s.StakeholderGroups) > maxGroups {
		v.add(prefix+".stakeholder_groups", "at most %d", maxGroups)
	}
	for i, g := range s.StakeholderGroups {
		v.line(fmt.Sprintf("%s.stakeholder_groups[%d]", prefix, i), g, 1, maxGroup)
	}
	if len(s.Interests) > maxInterests {
		v.add(prefix+".interests", "at most %d", maxInterests)
	}
	for i, in := range s.Interests {
		f := fmt.Sprintf("%s.interests[%d]", prefix, i)
		v.line(f+".organization", in.GetOrganization(), 1, maxTitle)
		v.text(f+".nature", in.GetNature(), 0, maxNote)
	}
	v.text(prefix+".other_interests", s.OtherInterests, 0, maxText)
}

// validateCall checks the chair's input for a new call.
func (v *violations) newCall(c *candorv1.Call) {
	if c == nil {
		v.add("call", "is required")
		return
	}
	v.line("call.title", c.Title, 1, maxTitle)
	v.text("call.matter", c.Matter, 0, maxMatter)
	v.enum("call.kind", int32(c.Kind), candorv1.CallKind_name, true)
	if c.Kind == candorv1.CallKind_CALL_KIND_CONSENSUS {
		if len(c.Options) > 0 {
			v.add("call.options", "must be empty for a consensus call: positions are fixed")
		}
		if c.Quorum != 0 || c.Threshold != candorv1.Threshold_THRESHOLD_UNSPECIFIED {
			v.add("call.quorum", "quorum and threshold apply to votes only; the chair designates consensus")
		}
	}
	// At least two options, each named once, is a rule (domain.PrepareCall); here only the shape.
	if len(c.Options) > maxOptions {
		v.add("call.options", "must be empty (yes/no/abstain) or 2 to %d options", maxOptions)
	}
	for i, o := range c.Options {
		v.line(fmt.Sprintf("call.options[%d]", i), o, 1, maxGroup)
	}
	if len(c.AffectedParties) > maxParties {
		v.add("call.affected_parties", "at most %d", maxParties)
	}
	for i, p := range c.AffectedParties {
		v.line(fmt.Sprintf("call.affected_parties[%d]", i), p, 1, maxTitle)
	}
	v.enum("call.conflict_policy", int32(c.ConflictPolicy), candorv1.ConflictPolicy_name, true)
	v.enum("call.threshold", int32(c.Threshold), candorv1.Threshold_name, true)
	if c.Deadline != nil {
		if err := c.Deadline.CheckValid(); err != nil {
			v.add("call.deadline", "is not a valid time")
		}
	}
	if c.Quorum < 0 || c.Quorum > maxQuorum {
		v.add("call.quorum", "must be between 0 and %d", maxQuorum)
	}
	if len(c.EligibleParticipants) > maxEligible {
		v.add("call.eligible_participants", "at most %d", maxEligible)
	}
	// Each eligible participant named once, and only members, is a rule (domain.PrepareCall).
	for i, p := range c.EligibleParticipants {
		v.participant(fmt.Sprintf("call.eligible_participants[%d]", i), p)
	}
	// Inclusion is the default: narrowing it needs a reason on the record. That is a rule
	// (domain.PrepareCall, ErrJustificationRequired), not a shape: only the text's shape is checked here.
	v.text("call.eligibility_justification", c.EligibilityJustification, 0, maxText)
}
