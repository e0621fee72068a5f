package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/candorhq/candor/internal/durable"
	"github.com/candorhq/candor/internal/export"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// exportProgressEvery is how many records an export receives between redraws of its progress bar.
const exportProgressEvery = 256

func newExportCmd(a *app) *cobra.Command {
	var format, from, to, out string
	c := &cobra.Command{
		Use:   "export BODY [--format jsonl|csv] [--from DATE|TIME] [--to DATE|TIME] [--out PATH]",
		Short: "Export a body's record for the minutes: JSON Lines, or CSV files for a spreadsheet",
		Long: `Export a body's record, as the server shows it to you, for the minutes: its calls, declarations
(each with the Statement of Interest version it restated), the chair's clearances, ballots and
positions, results with their stakeholder-group breakdowns, designations, objections, appeals and
minority statements, in log order, from the log as it stood when the export began.

--format jsonl (the default) writes JSON Lines: one JSON object (a candor.v1.ExportBodyResponse, as
protojson) a line, the first a header (what the export covers, the log's size and its signed
checkpoint), each saying its "kind". It goes to standard output, or to --out FILE.

--format csv writes one CSV file per kind of record (RFC 4180, UTF-8, a header row, one record a row,
times in RFC 3339 UTC), to open in a spreadsheet: into --out FOLDER (new or empty), or into
--out FILE.zip. The files are export.csv, calls.csv, eligibility.csv, declarations.csv,
clearances.csv, ballots.csv, positions.csv, results.csv, result_groups.csv, result_counts.csv,
result_participants.csv, designations.csv, objections.csv, appeals.csv and minority_statements.csv.

--from and --to take a date (2026-03-31, in the local zone) or an RFC 3339 time, and keep the records
made from --from up to --to; a date given to --to includes that whole day.

You get what the API shows you (members of the body, auditors and admins): while a call is open, a
member sees no ballot's option or position but their own (they are marked choice_withheld). A file
is written as FILE.partial and renamed when complete; a failed or interrupted export leaves nothing.
On a terminal a progress bar on standard error counts the records (not with -o json, nor when
the records themselves go to the terminal).`,
		Args: exactArgs("BODY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, dest, err := exportRequest(args[0], format, from, to, out, a)
			if err != nil {
				return err
			}
			a.subject.body = args[0]
			a.subject.fields = map[string]string{"body": "BODY", "start_time": "--from", "end_time": "--to"}
			cl, err := a.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), watchSignals...)
			defer stop()
			var bar *progress
			if dest.path != "" || !a.isTerminal(a.stdout) { // not over the records themselves
				bar = a.newProgress("exporting", "records")
			}
			sum, err := runExport(ctx, cl.audit, req, dest, bar)
			bar.done()
			if err != nil {
				if ctx.Err() != nil && cmd.Context().Err() == nil {
					return context.Canceled // interrupted: what was written is gone
				}
				return err
			}
			if dest.path == "" {
				return nil // the records went to standard output
			}
			if a.jsonOutput() {
				return a.printJSON(sum.header)
			}
			return writeExportSummary(a, sum, dest)
		},
	}
	c.Flags().StringVar(&format, "format", string(export.JSONL), "jsonl or csv")
	c.Flags().StringVar(&from, "from", "", "keep records from this date or RFC 3339 time (default the beginning)")
	c.Flags().StringVar(&to, "to", "", "keep records until this date (included) or RFC 3339 time (default the end)")
	c.Flags().StringVar(&out, "out", "", "where to write: a FILE for jsonl (default standard output); a FOLDER or FILE.zip for csv")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{string(export.JSONL), string(export.CSV)}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// exportDest is where an export is written.
type exportDest struct {
	format export.Format
	// path is the --out path; "" for standard output.
	path string
	// zip and folder say what path is for CSV: a zip file or a folder.
	zip, folder bool
	stdout      io.Writer
}

// exportRequest checks the arguments of `candor export` and builds the request and the destination.
func exportRequest(body, format, from, to, out string, a *app) (*candorv1.ExportBodyRequest, exportDest, error) {
	var dest exportDest
	if err := checkName("body", "BODY", body); err != nil {
		return nil, dest, err
	}
	f, err := export.ParseFormat(format)
	if err != nil {
		return nil, dest, usageErrorf("--format must be jsonl or csv, not %q", format)
	}
	start, end, err := parsePeriod(from, to, a.loc)
	if err != nil {
		return nil, dest, err
	}
	dest = exportDest{format: f, stdout: a.stdout}
	if out != "-" {
		dest.path = out
	}
	isZip := strings.EqualFold(filepath.Ext(dest.path), ".zip")
	switch {
	case f == export.CSV && dest.path == "":
		return nil, dest, usageErrorf("--format csv writes one file per kind of record: give --out FOLDER or --out FILE.zip")
	case f == export.CSV:
		dest.zip, dest.folder = isZip, !isZip
	case isZip:
		return nil, dest, usageErrorf("--out %s is a zip, which holds the CSV files: add --format csv, or name a .jsonl file", out)
	}
	return &candorv1.ExportBodyRequest{Body: body, StartTime: start, EndTime: end}, dest, nil
}

// exportSummary is what an export received.
type exportSummary struct {
	header *candorv1.ExportBodyResponse
	counts map[candorv1.ExportRecordKind]int64
	total  int64
}

// runExport streams the export into dest and checks that it received every record the header
// announced. On any failure what it wrote is removed.
func runExport(ctx context.Context, audit candorv1.AuditServiceClient, req *candorv1.ExportBodyRequest, dest exportDest, p *progress) (sum exportSummary, err error) {
	w, finish, abort, err := openExport(dest)
	if err != nil {
		return sum, err
	}
	defer func() {
		if err != nil {
			abort()
		}
	}()
	stream, err := audit.ExportBody(ctx, req)
	if err != nil {
		return sum, err
	}
	sum.counts = map[candorv1.ExportRecordKind]int64{}
	for {
		rec, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sum, err
		}
		if sum.header == nil {
			if rec.GetHeader() == nil {
				return sum, &failure{msg: "the server's export did not begin with its header"}
			}
			sum.header = rec
		} else {
			sum.counts[rec.GetKind()]++
			sum.total++
			if sum.total%exportProgressEvery == 0 {
				p.update(sum.total, max(sum.header.GetHeader().GetRecords(), sum.total))
			}
		}
		if err := w.Write(rec); err != nil {
			return sum, err
		}
	}
	if sum.header == nil {
		return sum, &failure{msg: "the server ended the export without sending anything"}
	}
	if want := sum.header.GetHeader().GetRecords(); sum.total != want {
		return sum, &failure{msg: fmt.Sprintf("the export stream ended after %d of the %d records the server announced: the export is incomplete", sum.total, want)}
	}
	p.update(sum.total, sum.total)
	return sum, finish(w)
}

// openExport opens dest: the writer, how to finish it once every record is written, and how to
// remove what was written after a failure.
func openExport(dest exportDest) (w export.Writer, finish func(export.Writer) error, abort func(), err error) {
	if dest.folder {
		w, err := export.NewCSVDir(dest.path)
		if errors.Is(err, export.ErrNotEmpty) {
			return nil, nil, nil, usageErrorf("--out %s is a folder that is not empty: name a new or empty folder, or a FILE.zip", dest.path)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		return w, func(w export.Writer) error { return w.Close() }, w.Abort, nil
	}
	if dest.path == "" {
		w := export.NewJSONL(dest.stdout)
		return w, func(w export.Writer) error { return w.Close() }, w.Abort, nil
	}
	// A file: written as FILE.partial, renamed to FILE once complete and synced.
	partial := dest.path + ".partial"
	if err := os.Remove(partial); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil, err
	}
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, nil, nil, err
	}
	if dest.zip {
		w, err = export.NewCSVZip(f, "")
		if err != nil {
			f.Close()
			os.Remove(partial)
			return nil, nil, nil, err
		}
	} else {
		w = export.NewJSONL(f)
	}
	finish = func(w export.Writer) error {
		err := errors.Join(w.Close(), f.Sync(), f.Close())
		if err == nil {
			err = os.Rename(partial, dest.path)
		}
		if err == nil {
			err = durable.SyncDir(filepath.Dir(dest.path))
		}
		return err
	}
	abort = func() {
		w.Abort()
		f.Close()
		os.Remove(partial)
	}
	return w, finish, abort, nil
}

// writeExportSummary prints what an export wrote and where.
func writeExportSummary(a *app, sum exportSummary, dest exportDest) error {
	h := sum.header.GetHeader()
	period := "the whole record"
	switch {
	case h.GetStartTime() != nil && h.GetEndTime() != nil:
		period = fmt.Sprintf("from %s until %s", a.timeString(h.GetStartTime()), a.timeString(h.GetEndTime()))
	case h.GetStartTime() != nil:
		period = "from " + a.timeString(h.GetStartTime())
	case h.GetEndTime() != nil:
		period = "until " + a.timeString(h.GetEndTime())
	}
	var kinds []string
	for k := candorv1.ExportRecordKind_EXPORT_RECORD_KIND_CALL; int(k) < len(candorv1.ExportRecordKind_name); k++ {
		if n := sum.counts[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", enumString(k), n))
		}
	}
	records := strconv.FormatInt(sum.total, 10)
	if len(kinds) > 0 {
		records += " (" + strings.Join(kinds, ", ") + ")"
	}
	what := "JSON Lines"
	switch {
	case dest.zip:
		what = "CSV files in a zip"
	case dest.folder:
		what = "CSV files in a folder"
	}
	var d details
	d.add("Body", h.GetBody())
	d.add("Title", cell(h.GetTitle()))
	d.add("Period", period)
	d.add("Log size", fmt.Sprintf("%d entries (the records come from entries before it)", h.GetLogSize()))
	d.add("Records", records)
	d.add("Written", fmt.Sprintf("%s (%s)", dest.path, what))
	return d.write(a.stdout)
}
