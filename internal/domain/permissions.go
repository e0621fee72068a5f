package domain

import (
	"fmt"
	"strings"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// Permissions: who is the admin, a chair, an auditor; what the log calls each actor; and who may
// read what. The service decides every request with these functions, from records it reads in the
// request's own transaction; the offline auditor decides every entry's actor with the same ones.
// [ReadTable] states the read rules as one table, which docs/permissions.md is generated from.

// Actors that are not participants: the names the log writes for them (log.proto, LogEntry.actor).
const (
	// AdminActor is the operator holding the admin token.
	AdminActor = "admin"
	// ServerActor is the server itself, for changes nobody asked for (a deadline closing a call).
	ServerActor = "server"
)

// Actor is how the log names a caller: [AdminActor] for the admin, else the participant's resource
// name ("participants/{id}").
func Actor(admin bool, participant string) string {
	if admin {
		return AdminActor
	}
	return participant
}

// IsParticipantActor reports whether a log entry's actor names a participant rather than the admin
// or the server: only participants declare, vote and take part in the consensus workflow.
func IsParticipantActor(actor string) bool {
	return actor != AdminActor && actor != ServerActor
}

// IsChair reports whether a membership (nil: not a member) is a chair's.
func IsChair(m *candorv1.Membership) bool { return m.GetRole() == candorv1.Role_ROLE_CHAIR }

// Viewer is a caller as the permission rules see them. The zero value is an anonymous caller.
type Viewer struct {
	// Admin holds the admin token. The admin is not a participant.
	Admin bool
	// Participant is the caller's resource name ("participants/{id}"); "" for the admin or anyone
	// anonymous.
	Participant string
	// Auditor is a participant the admin granted the auditor role.
	Auditor bool
}

// IsParticipant reports whether the viewer is a participant (who may declare and vote).
func (v Viewer) IsParticipant() bool { return !v.Admin && v.Participant != "" }

// Oversees reports whether the viewer may read every record: the admin or an auditor.
func (v Viewer) Oversees() bool { return v.Admin || (v.IsParticipant() && v.Auditor) }

// Actor is how the log names the viewer.
func (v Viewer) Actor() string { return Actor(v.Admin, v.Participant) }

// RequireAdmin refuses anyone but the admin.
func RequireAdmin(v Viewer) error {
	if !v.Admin {
		return ErrAdminOnly
	}
	return nil
}

// RequireParticipant refuses the admin and anonymous callers.
func RequireParticipant(v Viewer) error {
	if !v.IsParticipant() {
		return ErrParticipantOnly
	}
	return nil
}

// RequireChair refuses a viewer whose membership of the body (nil: none) is not a chair's.
func RequireChair(v Viewer, m *candorv1.Membership) error {
	if !v.IsParticipant() || !IsChair(m) {
		return ErrChairOnly
	}
	return nil
}

// RequireAuditor refuses anyone but auditors and the admin.
func RequireAuditor(v Viewer) error {
	if !v.Oversees() {
		return ErrAuditorOnly
	}
	return nil
}

// CanSeeBody refuses a viewer who neither oversees nor is a member of the body (m nil): a body's
// calls, rosters, declarations, call records and review reports are for its members.
func CanSeeBody(v Viewer, m *candorv1.Membership) error {
	if v.Oversees() || (v.IsParticipant() && m != nil) {
		return nil
	}
	return ErrMemberOnly
}

// CanReadLog refuses a viewer who may not read the log's entries: auditors and the admin, or
// anyone on a server run with public audit.
func CanReadLog(v Viewer, publicAudit bool) error {
	if publicAudit {
		return nil
	}
	return RequireAuditor(v)
}

// CanReadEntry refuses a viewer who may not read one log entry whose actor is actor: those who may
// read the whole log ([CanReadLog]), and the participant who wrote it. A participant holds their own
// entries' bytes already, in the receipts of their writes; reading one back is how they check that
// the server still serves it as written. Ranges of entries stay with [CanReadLog]: they span every
// body and carry others' ballots.
func CanReadEntry(v Viewer, publicAudit bool, actor string) error {
	if CanReadLog(v, publicAudit) == nil || (v.IsParticipant() && actor == v.Participant) {
		return nil
	}
	return ErrAuditorOnly
}

// CanSeeEmail reports whether the viewer may see the email of participant p: contact data, not
// part of the record, for the participant, auditors and the admin.
func CanSeeEmail(v Viewer, p string) bool {
	return v.Oversees() || (v.IsParticipant() && v.Participant == p)
}

// ShowsChoice reports whether the viewer sees the option of a ballot, or the position and comment of
// a position statement, by author in a call that is open or not: its author, auditors and the admin
// always; members of the body once the call is closed. While a call is open its roster says who
// has voted, not how, so that nobody votes with an eye on how others voted.
func ShowsChoice(v Viewer, author string, callOpen bool) bool {
	return !callOpen || v.Oversees() || (v.IsParticipant() && v.Participant == author)
}

// RedactChoice clears the choice a ballot or position entry records (option; position and comment),
// keeping that it was cast, by whom, when and under which declaration. Other entries are unchanged.
func RedactChoice(e *candorv1.LogEntry) {
	if b := e.GetBallot(); b != nil {
		b.Option = ""
	}
	if p := e.GetPositionStatement(); p != nil {
		p.Position, p.Comment = candorv1.Position_POSITION_UNSPECIFIED, ""
	}
}

// ChoiceAuthor returns the participant whose choice a ballot or position entry records, or "" for
// any other entry.
func ChoiceAuthor(e *candorv1.LogEntry) string {
	if b := e.GetBallot(); b != nil {
		return b.GetParticipant()
	}
	return e.GetPositionStatement().GetParticipant()
}

// The read table.

// Reader is a column of [ReadTable]: who reads another participant's records.
type Reader int

// The readers, in the table's column order.
const (
	ReaderSelf        Reader = iota // the participant themselves
	ReaderFellow                    // a fellow member of a body they share
	ReaderChair                     // a chair of that body
	ReaderOtherBody                 // a member of another body only
	ReaderAuditor                   // a participant with the auditor role
	ReaderAdmin                     // the admin
	ReaderPublicAudit               // anyone, without a token, on a server run with --public-audit
	numReaders
)

// Readers lists every column of [ReadTable] in order.
var Readers = []Reader{ReaderSelf, ReaderFellow, ReaderChair, ReaderOtherBody, ReaderAuditor, ReaderAdmin, ReaderPublicAudit}

// String is the column's heading.
func (r Reader) String() string {
	return [...]string{
		"the participant", "fellow member", "chair of the body", "member of another body",
		"auditor", "admin", "anyone, `--public-audit`",
	}[r]
}

// Access is what a reader gets.
type Access int

// The kinds of access.
const (
	// Allowed: the read answers with the data.
	Allowed Access = iota + 1
	// Redacted: the read answers, with part of the data left out (Cell.Note says what).
	Redacted
	// Refused: PermissionDenied with Cell.Reason (Unauthenticated without a token).
	Refused
	// LogOnly: the read RPC needs a token, but the data is in the log, which this reader may read
	// whole (ListEntries).
	LogOnly
)

// Cell is one reader's access to one kind of record.
type Cell struct {
	Access Access
	// Reason is the ErrorInfo reason of a refusal.
	Reason string
	// Note says what a redacted answer leaves out.
	Note string
}

// Row is one kind of record and who may read it.
type Row struct {
	// Key names the row in tests.
	Key string
	// What is read, and through which RPCs.
	What string
	// Why is the reasoning, one line.
	Why string
	// Cells, one per [Readers] entry.
	Cells [numReaders]Cell
}

func allowed() Cell              { return Cell{Access: Allowed} }
func redacted(note string) Cell  { return Cell{Access: Redacted, Note: note} }
func refused(reason string) Cell { return Cell{Access: Refused, Reason: reason} }
func logOnly() Cell              { return Cell{Access: LogOnly} }
func row(key, what, why string, cells ...Cell) Row {
	if len(cells) != int(numReaders) {
		panic(fmt.Sprintf("domain: read table row %s has %d cells, want %d", key, len(cells), numReaders))
	}
	r := Row{Key: key, What: what, Why: why}
	copy(r.Cells[:], cells)
	return r
}

// ReadTable says who may read what of another participant's record. Inclusion is the default: a
// restriction is there only for the reason its row gives. internal/rpc tests every cell against a
// running server, and docs/permissions.md is this table rendered by [ReadTableMarkdown].
var ReadTable = []Row{
	row("soi",
		"Statement of Interest, current and past versions (`GetStatementOfInterest`, `ListStatementOfInterestVersions`)",
		"GNSO practice publishes SOIs; a declaration pins a version, so anyone weighing it must be able to read that version.",
		allowed(), allowed(), allowed(), allowed(), allowed(), allowed(), logOnly()),
	row("declaration",
		"Declaration text and conflict level, current ones (`GetCallRoster`, `WatchCall`)",
		"Declaring is done before the body (ALAC: declare and repeat at each vote); it is the body's record, not the world's.",
		allowed(), allowed(), allowed(), refused("NOT_MEMBER"), allowed(), allowed(), logOnly()),
	row("ballot",
		"Ballot option or position and comment (`ListCallRecord`; flagged ballots in `GetCall`'s result)",
		"Recorded votes are named (GNSO), but only once the call closes: while it is open nobody votes watching how others voted.",
		allowed(), redacted("hidden until the call closes"), redacted("hidden until the call closes"), refused("NOT_MEMBER"), allowed(), allowed(), logOnly()),
	row("roster",
		"Roster entry: declared, voted (not how), stale, cleared, affected-party matches (`GetCallRoster`, `WatchCall`)",
		"The room watches who has declared and who must declare again; that is the body's business and its chair's tool.",
		allowed(), allowed(), allowed(), refused("NOT_MEMBER"), allowed(), allowed(), refused("UNAUTHENTICATED")),
	row("history",
		"Declaration history across calls (`ListDeclarationHistory`)",
		"The same declarations the roster shows, so the same readers: a member sees those in calls of bodies they belong to.",
		allowed(), redacted("only calls of bodies the reader belongs to"), redacted("only calls of bodies the reader belongs to"),
		redacted("only calls of bodies the reader belongs to: none"), allowed(), allowed(), logOnly()),
	row("record",
		"A call's record: every entry about it (`ListCallRecord`)",
		"The call's own record belongs to its body; the choices in it follow the ballot row.",
		redacted("others' ballots and positions hidden until the call closes"),
		redacted("others' ballots and positions hidden until the call closes"),
		redacted("others' ballots and positions hidden until the call closes"),
		refused("NOT_MEMBER"), allowed(), allowed(), logOnly()),
	row("export",
		"A body's export for its minutes: its calls' records, each declaration with the SOI version it restated (`ExportBody`, as `candor export` asks)",
		"The records the body's call records and rosters already show its members, gathered for the minutes: the same readers, the same choices withheld.",
		redacted("others' ballots and positions withheld until the call closes"),
		redacted("others' ballots and positions withheld until the call closes"),
		redacted("others' ballots and positions withheld until the call closes"),
		refused("NOT_MEMBER"), allowed(), allowed(), logOnly()),
	row("review",
		"A body's review report (`GetReviewReport`)",
		"Its figures sum the results every member already reads; the periodic review is the body's own (ALAC).",
		allowed(), allowed(), allowed(), refused("NOT_MEMBER"), allowed(), allowed(), refused("UNAUTHENTICATED")),
	row("log",
		"Log entries, in ranges (`ListEntries`)",
		"Entries span every body and carry the ballots of open calls: for those who oversee, or everyone when the operator makes the record public.",
		refused("AUDITOR_REQUIRED"), refused("AUDITOR_REQUIRED"), refused("AUDITOR_REQUIRED"), refused("AUDITOR_REQUIRED"),
		allowed(), allowed(), allowed()),
	row("entry",
		"One log entry P wrote, P its actor (`ListEntries` with `max_entries` 1, as `candor audit receipt` asks)",
		"P holds its bytes already, in the receipt of the write, and reads it back to check the server still serves it as written; it is the log's, so others read it as they read the log.",
		allowed(), refused("AUDITOR_REQUIRED"), refused("AUDITOR_REQUIRED"), refused("AUDITOR_REQUIRED"),
		allowed(), allowed(), allowed()),
	row("backup",
		"The whole data file, every record and token hash (`StreamBackup`, as `candor admin backup` asks)",
		"A copy of everything the server holds, the ballots of open calls and the hashes of every token among it: for the operator, who keeps it apart from the keys.",
		refused("ADMIN_REQUIRED"), refused("ADMIN_REQUIRED"), refused("ADMIN_REQUIRED"), refused("ADMIN_REQUIRED"),
		refused("ADMIN_REQUIRED"), allowed(), refused("UNAUTHENTICATED")),
	row("proofs",
		"Checkpoint and proofs (`GetCheckpoint`, `GetInclusionProof`, `GetConsistencyProof`)",
		"Only hashes: anyone holding a receipt must be able to check it.",
		allowed(), allowed(), allowed(), allowed(), allowed(), allowed(), allowed()),
}

// markdown renders a cell.
func (c Cell) markdown() string {
	switch c.Access {
	case Allowed:
		return "yes"
	case Redacted:
		return "redacted: " + c.Note
	case Refused:
		return "no (`" + c.Reason + "`)"
	case LogOnly:
		return "in the log only"
	}
	panic(fmt.Sprintf("domain: read table cell with access %d", c.Access))
}

// ReadTableMarkdown renders [ReadTable] as the Markdown table in docs/permissions.md.
func ReadTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| What is read |")
	for _, r := range Readers {
		b.WriteString(" " + r.String() + " |")
	}
	b.WriteString(" Why |\n|---|")
	for range Readers {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, row := range ReadTable {
		b.WriteString("| " + row.What + " |")
		for _, c := range row.Cells {
			b.WriteString(" " + c.markdown() + " |")
		}
		b.WriteString(" " + row.Why + " |\n")
	}
	return b.String()
}
