package cli

import (
	"io"

	"github.com/schollz/progressbar/v3"
)

// progress draws a progress bar on standard error for a long-running command. Its zero value (and
// a nil *progress) draws nothing, which is what [app.newProgress] returns unless the bar belongs.
type progress struct {
	w           io.Writer
	description string
	unit        string                   // what is counted: "entries", "records", or unitBytes
	bar         *progressbar.ProgressBar // made on the first update, when the total is known
}

// unitBytes counts bytes: the bar shows sizes (kB, MB) and a rate in bytes a second.
const unitBytes = "bytes"

// newProgress returns a bar described by description that counts unit (a plural such as "entries",
// or unitBytes), drawn on standard error only when standard error is a terminal and the output is
// not -o json (a script reading JSON gets no redrawn lines anywhere). Otherwise it returns nil, whose
// methods do nothing. Standard output is never touched.
func (a *app) newProgress(description, unit string) *progress {
	if a.jsonOutput() || !a.isTerminal(a.stderr) {
		return nil
	}
	return &progress{w: a.stderr, description: description, unit: unit}
}

// isTerminal reports whether w is a terminal; tests replace the check with app.terminal.
func (a *app) isTerminal(w io.Writer) bool {
	if a.terminal != nil {
		return a.terminal(w)
	}
	return isTerminal(w)
}

// update shows done of total; it has the signature of verify.Options.Progress. It draws on every
// call, so callers report now and then: package verify every 10,000 entries, a backup every chunk
// (1 MiB), an export every [exportProgressEvery] records.
func (p *progress) update(done, total int64) {
	if p == nil || total <= 0 {
		return
	}
	if p.bar == nil {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.description),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetRenderBlankState(true), // drawn from the start, even if the first report is the last
			progressbar.OptionClearOnFinish(),           // erased when full: the command's output follows
		}
		if p.unit == unitBytes {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionSetItsString(p.unit))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
	}
	if total != p.bar.GetMax64() {
		p.bar.ChangeMax64(total)
	}
	_ = p.bar.Set64(done) // a bar that cannot be drawn is not worth failing the command for
}

// callback returns update as a function, or nil when nothing is drawn, for options such as
// verify.Options.Progress that skip the work of reporting when unset.
func (p *progress) callback() func(done, total int64) {
	if p == nil {
		return nil
	}
	return p.update
}

// done erases a bar left short of full (the command failed part way), so that what the command
// prints next starts on a clean line; a full bar erased itself.
func (p *progress) done() {
	if p == nil || p.bar == nil || p.bar.IsFinished() {
		return
	}
	_ = p.bar.Clear()
}
