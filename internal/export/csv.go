package export

import (
	"bufio"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// The CSV form of an export is one file per kind of record (a result adds three files of its
// parts), each with a header row and one record a row, so that each opens as one sheet:
//
//   - files are RFC 4180 (encoding/csv, CRLF line ends), UTF-8 with a byte order mark, which
//     spreadsheets need to read non-ASCII names right (strip it when reading with a CSV library);
//   - times are RFC 3339 in UTC, to the second (the JSON Lines form keeps the log's nanoseconds);
//   - enum values are spelt as candor's flags take them ("potential", "support-with-concerns"),
//     booleans "yes" or "no", hashes in hex, and a value the record does not have is left empty;
//   - short lists (options, affected parties, stakeholder groups, co-signers) are joined with "; ",
//     long ones (eligible participants, the participants a result names, a result's counts) are rows
//     of their own file;
//   - a cell that a spreadsheet would take for a formula (it begins with =, +, -, @, a tab or a
//     carriage return) is written with an apostrophe before it, as OWASP advises against CSV
//     injection: the text is participants' own. The JSON Lines form has every text as written.
//
// The files, in the order [Files] lists them, and their columns are in tables below; every file is
// written, with its header, even when no record goes in it.

// table names one CSV file of an export.
type table int

const (
	tExport table = iota
	tCalls
	tEligibility
	tDeclarations
	tClearances
	tBallots
	tPositions
	tResults
	tResultGroups
	tResultCounts
	tResultParticipants
	tDesignations
	tObjections
	tAppeals
	tMinorityStatements
	numTables
)

// tables are the files and their header rows.
var tables = [numTables]struct {
	file   string
	header []string
}{
	tExport: {"export.csv", []string{"body", "title", "start_time", "end_time", "log_size", "records", "reader", "export_time", "checkpoint"}},
	tCalls: {"calls.csv", []string{"log_index", "time", "call", "title", "kind", "matter", "conflict_policy", "options", "affected_parties",
		"quorum", "threshold", "deadline", "eligible", "eligibility_restricted", "eligibility_justification", "opened_by"}},
	tEligibility: {"eligibility.csv", []string{"log_index", "call", "participant"}},
	tDeclarations: {"declarations.csv", []string{"log_index", "time", "call", "declaration", "participant", "conflict_level", "intent", "description",
		"soi_version", "soi_changed", "soi_content_hash", "soi_employer", "soi_job_title", "soi_represents", "soi_stakeholder_groups",
		"soi_interests", "soi_other_interests", "supersedes"}},
	tClearances: {"clearances.csv", []string{"log_index", "time", "call", "declaration", "participant", "decision", "note", "chair"}},
	tBallots: {"ballots.csv", []string{"log_index", "time", "call", "ballot", "participant", "option", "choice_withheld", "declaration",
		"conflict_level", "supersedes"}},
	tPositions: {"positions.csv", []string{"log_index", "time", "call", "position_statement", "participant", "position", "comment",
		"choice_withheld", "declaration", "conflict_level", "supersedes"}},
	tResults: {"results.csv", []string{"log_index", "time", "call", "title", "kind", "closed_by", "outcome", "winning_option", "eligible",
		"ballots_counted", "votes_cast", "abstentions", "quorum", "quorum_met", "turnout", "recused", "flagged", "undeclared", "uncleared", "stale"}},
	tResultGroups:       {"result_groups.csv", []string{"log_index", "call", "stakeholder_group", "eligible", "declared", "conflicts", "recusals", "stale"}},
	tResultCounts:       {"result_counts.csv", []string{"log_index", "call", "scope", "stakeholder_group", "option", "count"}},
	tResultParticipants: {"result_participants.csv", []string{"log_index", "call", "participant", "status", "option", "conflict_level", "stale"}},
	tDesignations:       {"designations.csv", []string{"log_index", "time", "call", "stage", "revision", "level", "rationale", "chair", "objection_deadline"}},
	tObjections:         {"objections.csv", []string{"log_index", "time", "call", "revision", "participant", "reason"}},
	tAppeals:            {"appeals.csv", []string{"log_index", "time", "call", "participant", "reason"}},
	tMinorityStatements: {"minority_statements.csv", []string{"log_index", "time", "call", "event", "statement", "author", "signer", "text",
		"cosigners", "signed_by"}},
}

// Files lists the CSV files of an export, in the order a zip holds them.
func Files() []string {
	out := make([]string, numTables)
	for i, t := range tables {
		out[i] = t.file
	}
	return out
}

// Header returns the header row of the CSV file named file, or nil for a file an export does not
// have.
func Header(file string) []string {
	for _, t := range tables {
		if t.file == file {
			return append([]string(nil), t.header...)
		}
	}
	return nil
}

// bom is the UTF-8 byte order mark each CSV file begins with.
const bom = "\ufeff"

// ErrNotEmpty is returned by [NewCSVDir] for a folder that already holds files.
var ErrNotEmpty = errors.New("export: the folder is not empty")

// csvDir writes an export's CSV files into a folder.
type csvDir struct {
	dir   string
	made  bool // dir was made here: Abort removes it
	sync  bool // Close syncs the files: they are the export, not a zip's scratch copies
	files [numTables]*os.File
	bufs  [numTables]*bufio.Writer
	w     [numTables]*csv.Writer
}

// NewCSVDir returns a Writer of an export's CSV files into dir, which it creates if needed; a folder
// that holds anything already is refused ([ErrNotEmpty]), so that no earlier export's files are
// mixed in. Abort removes the files and, if it made it, the folder.
func NewCSVDir(dir string) (Writer, error) { return newCSVDir(dir, true) }

// newCSVDir is NewCSVDir; sync says whether Close syncs the files to the disk.
func newCSVDir(dir string, sync bool) (*csvDir, error) {
	made := false
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		made = true
	case err != nil:
		return nil, err
	case len(entries) > 0:
		return nil, fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	}
	c := &csvDir{dir: dir, made: made, sync: sync}
	for t := range numTables {
		f, err := os.OpenFile(filepath.Join(dir, tables[t].file), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			c.Abort()
			return nil, err
		}
		c.files[t] = f
		c.bufs[t] = bufio.NewWriterSize(f, 32<<10)
		c.bufs[t].WriteString(bom)
		c.w[t] = csv.NewWriter(c.bufs[t])
		c.w[t].UseCRLF = true
		c.w[t].Write(tables[t].header)
	}
	return c, nil
}

func (c *csvDir) Write(rec *candorv1.ExportBodyResponse) error {
	var err error
	rows(rec, func(t table, cells ...string) {
		if err == nil {
			err = c.w[t].Write(guard(cells))
		}
	})
	return err
}

// Close flushes and closes every file, and syncs them to the disk unless they are a zip's scratch
// copies.
func (c *csvDir) Close() error {
	var errs []error
	for t := range numTables {
		if c.files[t] == nil {
			continue
		}
		c.w[t].Flush()
		errs = append(errs, c.w[t].Error(), c.bufs[t].Flush())
		if c.sync {
			errs = append(errs, c.files[t].Sync())
		}
		errs = append(errs, c.files[t].Close())
		c.files[t] = nil
	}
	return errors.Join(errs...)
}

// Abort closes and removes the files, and the folder if NewCSVDir made it. It may follow Close.
func (c *csvDir) Abort() {
	for t := range numTables {
		if c.files[t] != nil {
			c.files[t].Close()
			c.files[t] = nil
		}
		os.Remove(filepath.Join(c.dir, tables[t].file))
	}
	if c.made {
		os.Remove(c.dir)
	}
}

// guard prefixes cells a spreadsheet would take for a formula with an apostrophe (see above).
func guard(cells []string) []string {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cells
}

// rows calls out with each row rec adds to the CSV files.
func rows(rec *candorv1.ExportBodyResponse, out func(t table, cells ...string)) {
	at, call, index := rec.GetLogIndex(), rec.GetCall(), itoa(rec.GetLogIndex())
	when := timeCell(rec.GetTime())
	switch r := rec.GetRecord().(type) {
	case *candorv1.ExportBodyResponse_Header:
		h := r.Header
		out(tExport, h.GetBody(), h.GetTitle(), timeCell(h.GetStartTime()), timeCell(h.GetEndTime()), itoa(h.GetLogSize()),
			itoa(h.GetRecords()), h.GetReader(), timeCell(h.GetExportTime()), string(h.GetCheckpoint()))
	case *candorv1.ExportBodyResponse_OpenedCall:
		c := r.OpenedCall
		out(tCalls, index, when, call, c.GetTitle(), enumCell(c.GetKind()), c.GetMatter(), enumCell(c.GetConflictPolicy()),
			list(c.GetOptions()), list(c.GetAffectedParties()), itoa(int64(c.GetQuorum())), enumCell(c.GetThreshold()),
			timeCell(c.GetDeadline()), itoa(int64(len(c.GetEligibleParticipants()))), yesNo(c.GetEligibilityRestricted()),
			c.GetEligibilityJustification(), c.GetOpenedBy())
		for _, p := range c.GetEligibleParticipants() {
			out(tEligibility, index, call, p)
		}
	case *candorv1.ExportBodyResponse_Declaration:
		d, s := r.Declaration, rec.GetStatementOfInterest()
		out(tDeclarations, index, when, call, d.GetName(), d.GetParticipant(), enumCell(d.GetConflictLevel()), enumCell(d.GetIntent()),
			d.GetDescription(), itoa(d.GetSoiVersion()), yesNo(d.GetSoiChanged()), hex.EncodeToString(d.GetSoiContentHash()),
			s.GetEmployer(), s.GetJobTitle(), s.GetRepresents(), list(s.GetStakeholderGroups()), interests(s.GetInterests()),
			s.GetOtherInterests(), d.GetSupersedes())
	case *candorv1.ExportBodyResponse_Clearance:
		c := r.Clearance
		out(tClearances, index, when, call, c.GetDeclaration(), c.GetParticipant(), enumCell(c.GetDecision()), c.GetNote(), c.GetChair())
	case *candorv1.ExportBodyResponse_Ballot:
		b := r.Ballot
		out(tBallots, index, when, call, b.GetName(), b.GetParticipant(), b.GetOption(), yesNo(rec.GetChoiceWithheld()),
			b.GetDeclaration(), enumCell(b.GetConflictLevel()), b.GetSupersedes())
	case *candorv1.ExportBodyResponse_Position:
		p := r.Position
		out(tPositions, index, when, call, p.GetName(), p.GetParticipant(), enumCell(p.GetPosition()), p.GetComment(),
			yesNo(rec.GetChoiceWithheld()), p.GetDeclaration(), enumCell(p.GetConflictLevel()), p.GetSupersedes())
	case *candorv1.ExportBodyResponse_Result:
		resultRows(at, call, when, r.Result, out)
	case *candorv1.ExportBodyResponse_Designation:
		d := r.Designation
		stage := "proposed"
		if rec.GetEntryKind() == candorv1.EntryKind_ENTRY_KIND_DESIGNATION_FINALIZED {
			stage = "final"
		}
		out(tDesignations, index, when, call, stage, itoa(int64(d.GetRevision())), enumCell(d.GetLevel()), d.GetRationale(), d.GetChair(),
			timeCell(d.GetObjectionDeadline()))
	case *candorv1.ExportBodyResponse_Objection:
		o := r.Objection
		out(tObjections, index, when, call, itoa(int64(o.GetRevision())), o.GetParticipant(), o.GetReason())
	case *candorv1.ExportBodyResponse_Appeal:
		a := r.Appeal
		out(tAppeals, index, when, call, a.GetParticipant(), a.GetReason())
	case *candorv1.ExportBodyResponse_MinorityStatement:
		m := r.MinorityStatement
		event, signer := "filed", ""
		if rec.GetEntryKind() == candorv1.EntryKind_ENTRY_KIND_MINORITY_STATEMENT_SIGNED {
			event, signer = "signed", rec.GetActor()
		}
		out(tMinorityStatements, index, when, call, event, m.GetName(), m.GetAuthor(), signer, m.GetText(), list(m.GetCosigners()),
			list(m.GetSignedBy()))
	}
}

// resultRows adds a result's row, and the rows of its parts.
func resultRows(at int64, call, when string, x *candorv1.ExportResult, out func(t table, cells ...string)) {
	r, index := x.GetResult(), itoa(at)
	n := func(v int32) string { return itoa(int64(v)) }
	out(tResults, index, when, call, x.GetTitle(), enumCell(x.GetCallKind()), x.GetClosedBy(), enumCell(r.GetOutcome()), r.GetWinningOption(),
		n(r.GetEligible()), n(r.GetBallotsCounted()), n(r.GetVotesCast()), n(r.GetAbstentions()), n(r.GetQuorum()), yesNo(r.GetQuorumMet()),
		strconv.FormatFloat(r.GetTurnout(), 'f', -1, 64), itoa(int64(len(r.GetRecused()))), itoa(int64(len(r.GetFlagged()))),
		itoa(int64(len(r.GetUndeclared()))), itoa(int64(len(r.GetUncleared()))), itoa(int64(len(r.GetStale()))))
	for _, c := range r.GetCounts() {
		out(tResultCounts, index, call, "call", "", c.GetOption(), n(c.GetCount()))
	}
	for _, g := range r.GetGroups() {
		out(tResultGroups, index, call, g.GetStakeholderGroup(), n(g.GetEligible()), n(g.GetDeclared()), n(g.GetConflicts()),
			n(g.GetRecusals()), n(g.GetStale()))
		for _, c := range g.GetCounts() {
			out(tResultCounts, index, call, "group", g.GetStakeholderGroup(), c.GetOption(), n(c.GetCount()))
		}
	}
	named := func(status string, ps []string) {
		for _, p := range ps {
			out(tResultParticipants, index, call, p, status, "", "", "")
		}
	}
	named("recused", r.GetRecused())
	for _, f := range r.GetFlagged() {
		out(tResultParticipants, index, call, f.GetParticipant(), "flagged", f.GetOption(), enumCell(f.GetConflictLevel()), yesNo(f.GetStale()))
	}
	named("undeclared", r.GetUndeclared())
	named("uncleared", r.GetUncleared())
	named("stale", r.GetStale())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// timeCell is t in RFC 3339, UTC, to the second; "" when unset.
func timeCell(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

// enumCell spells an enum value as candor's flags take it: CONFLICT_LEVEL_POTENTIAL is "potential",
// POSITION_SUPPORT_WITH_CONCERNS "support-with-concerns"; the zero value is "".
func enumCell(e protoreflect.Enum) string {
	if e.Number() == 0 {
		return ""
	}
	v := e.Descriptor().Values().ByNumber(e.Number())
	if v == nil {
		return strconv.Itoa(int(e.Number()))
	}
	name := strings.TrimPrefix(string(v.Name()), enumPrefix(e.Descriptor()))
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// enumPrefix is the prefix every value of an enum carries: its name in UPPER_SNAKE_CASE and "_"
// (buf's ENUM_VALUE_PREFIX rule).
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	var b strings.Builder
	for i, r := range string(ed.Name()) {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String()) + "_"
}

func list(ss []string) string { return strings.Join(ss, "; ") }

// interests spells a Statement of Interest's interests "Organisation (nature); ...".
func interests(in []*candorv1.Interest) string {
	parts := make([]string, len(in))
	for i, x := range in {
		parts[i] = x.GetOrganization()
		if x.GetNature() != "" {
			parts[i] += " (" + x.GetNature() + ")"
		}
	}
	return list(parts)
}
