package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/candorhq/candor/internal/readall"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// clearScreen moves the cursor home and clears the terminal (ANSI CUP, ED 2).
const clearScreen = "\x1b[H\x1b[2J"

// watchSignals end a watch quietly: the user is done watching, which is not a failure.
var watchSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func newCallWatchCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "watch CALL",
		Short: "Redraw a call's roster on every change; print the result when it closes",
		Long: `Watch a call: print its roster (the table of "candor call show") now and again after every change,
until the call closes; then print its result and exit. On a terminal each state replaces the last;
otherwise each state follows the last after a blank line, under a line with the time it arrived.
With -o json each state is one JSON object (a candor.v1.WatchCallResponse) on one line. A roster
too large for one message is completed with GetCallRoster before it is printed, so every state holds
the whole roster.

A watcher is sent the latest state, not every intermediate one: under a burst of ballots some states
are skipped. Ctrl-C stops watching.`,
		Args: exactArgs("CALL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.callArg(args[0]); err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), watchSignals...)
			defer stop()
			err = a.watchCall(ctx, cl.calls, args[0])
			if err != nil && ctx.Err() != nil && cmd.Context().Err() == nil {
				return nil // Ctrl-C: the user stopped watching
			}
			return err
		},
	}
}

// watchCall prints each state WatchCall sends until the call closes (then the result) or the stream
// fails. --timeout does not apply: a watch lasts as long as the call stays open.
func (a *app) watchCall(ctx context.Context, calls candorv1.CallServiceClient, name string) error {
	stream, err := calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: name})
	if err != nil {
		return err
	}
	p := &watchPrinter{a: a, w: a.stdout, tty: !a.jsonOutput() && isTerminal(a.stdout)}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return &failure{msg: "the server ended the watch before the call closed; run the command again to resume"}
		}
		if err != nil {
			return err
		}
		if tok := msg.GetRosterNextPageToken(); tok != "" {
			rest, err := readall.Roster(ctx, calls, name, tok, 0)
			if err != nil {
				return err
			}
			msg.Roster = append(msg.Roster, rest...)
			msg.RosterNextPageToken = ""
		}
		if err := p.print(msg); err != nil {
			return err
		}
		if msg.GetCall().GetState() == candorv1.CallState_CALL_STATE_CLOSED {
			return nil
		}
	}
}

// watchPrinter prints the states of one watch to w.
type watchPrinter struct {
	a   *app
	w   io.Writer
	tty bool // redraw in place instead of appending
	n   int  // states printed so far
}

// print writes one state: a protojson line with -o json; otherwise a header, the roster and, once
// the call is closed, its result. Everything the server sent goes through [escapeControls] (or, in
// JSON, [escapeJSONLine]), so a name cannot move the cursor or rewrite the screen.
func (p *watchPrinter) print(msg *candorv1.WatchCallResponse) error {
	defer func() { p.n++ }()
	if p.a.jsonOutput() {
		b, err := protojson.Marshal(msg)
		if err != nil {
			return fmt.Errorf("encoding the answer as JSON: %w", err)
		}
		var line bytes.Buffer
		// protojson varies its spacing from build to build; compacting keeps one stable line.
		if err := json.Compact(&line, b); err != nil {
			return fmt.Errorf("encoding the answer as JSON: %w", err)
		}
		_, err = fmt.Fprintf(p.w, "%s\n", escapeJSONLine(line.String()))
		return err
	}
	c := msg.GetCall()
	var frame bytes.Buffer
	fmt.Fprintln(&frame, p.header(msg))
	if err := writeRoster(p.a, &frame, c, msg.GetRoster()); err != nil {
		return err
	}
	if c.GetState() == candorv1.CallState_CALL_STATE_CLOSED {
		fmt.Fprintln(&frame)
		if err := writeWatchResult(&frame, c, msg.GetRoster()); err != nil {
			return err
		}
	}
	var out strings.Builder
	switch {
	case p.tty:
		out.WriteString(clearScreen)
	case p.n > 0:
		out.WriteString("\n")
	}
	out.WriteString(escapeControls(frame.String()))
	_, err := io.WriteString(p.w, out.String())
	return err
}

// header is the line above each roster: when the state arrived, the call and how far it has come.
func (p *watchPrinter) header(msg *candorv1.WatchCallResponse) string {
	c := msg.GetCall()
	declared, took := 0, 0
	for _, e := range msg.GetRoster() {
		if e.GetDeclaration() != nil {
			declared++
		}
		if e.GetVoted() {
			took++
		}
	}
	verb := "voted"
	if isConsensus(c) {
		verb = "stated a position"
	}
	return fmt.Sprintf("%s  %s (%s): %d of %d declared, %d %s",
		p.a.now().In(p.a.loc).Format(time.RFC3339), cell(c.GetTitle()), enumString(c.GetState()),
		declared, len(msg.GetRoster()), took, verb)
}

// writeWatchResult prints a closed call's result and its stakeholder-group breakdown as
// `candor call show` does, naming participants by the roster's display names.
func writeWatchResult(w io.Writer, c *candorv1.Call, roster []*candorv1.RosterEntry) error {
	r := c.GetResult()
	if r == nil {
		_, err := fmt.Fprintln(w, "Result: none was published with the closed call; see \"candor call show "+c.GetName()+"\"")
		return err
	}
	names := map[string]string{}
	for _, e := range roster {
		names[e.GetParticipant()] = e.GetDisplayName()
	}
	if err := writeResult(w, c, r, names); err != nil {
		return err
	}
	if len(r.GetGroups()) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return writeGroups(w, c, r.GetGroups())
}

// escapeJSONLine escapes in a compact JSON text the characters JSON leaves raw but a terminal may
// act on: C1 controls and bidirectional overrides. JSON allows them only inside strings, where \uXXXX
// means the same character, so the document is unchanged for a parser.
func escapeJSONLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x7f && unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
