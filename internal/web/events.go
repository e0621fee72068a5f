package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/domain"
	"github.com/candorhq/candor/internal/readall"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// heartbeatEvery is how often an idle event stream sends a comment, so proxies and phones keep the
// connection and a dead one is noticed.
const heartbeatEvery = 15 * time.Second

// eventWriteTimeout bounds one event's write: a browser that stops reading is dropped instead of
// holding a goroutine and a WatchCall stream forever.
const eventWriteTimeout = 10 * time.Second

// callEvents implements GET /bodies/{body}/calls/{call}/events: the call's live roster (and result
// once closed) as Server-Sent Events, relayed from CallService.WatchCall as the signed-in user.
//
// Each message from the stream is rendered with the page's own partial templates and sent as the
// events "state", "roster" and "result". The stream is read only as fast as the browser takes
// events: candord's WatchCall sends a slow watcher the latest state rather than a backlog, so a slow
// phone holds back nothing but itself.
func (s *Server) callEvents(w http.ResponseWriter, r *http.Request, sess *session) {
	rc := http.NewResponseController(w)
	rctx, rcancel := s.rpcCtx(r, sess)
	body, mine, err := s.bodyAndMembership(rctx, sess, bodyName(r))
	rcancel()
	chair := domain.IsChair(mine)
	if err != nil {
		s.noStream(w, err)
		return
	}
	ctx, cancel := s.streamCtx(r, sess)
	defer cancel()
	stream, err := s.calls.WatchCall(ctx, &candorv1.WatchCallRequest{Name: callName(r)})
	if err != nil {
		s.noStream(w, err)
		return
	}
	// The first message comes before the response starts, so a refusal (no such call, no right to
	// read it) is an HTTP error: EventSource then stops instead of retrying a hopeless request.
	first, err := stream.Recv()
	if err == nil {
		err = readRosterPages(ctx, s.calls, first)
	}
	if err != nil {
		s.noStream(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	msgs := make(chan *candorv1.WatchCallResponse)
	done := make(chan error, 1)
	go func() {
		msg := first
		for {
			select {
			case msgs <- msg:
			case <-ctx.Done():
				done <- ctx.Err()
				return
			}
			var err error
			if msg, err = stream.Recv(); err == nil {
				err = readRosterPages(ctx, s.calls, msg)
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()

	var buf bytes.Buffer
	send := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)) // unsupported writers (tests) just ignore it
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// Reconnect after 2 s if the connection drops.
	if !send([]byte("retry: 2000\n\n")) {
		return
	}
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-done:
			if !errors.Is(err, io.EOF) && status.Code(err) != codes.Canceled {
				s.log.Debug("web: watch ended", "call", callName(r), "code", status.Code(err).String())
			}
			return
		case <-heartbeat.C:
			if !send([]byte(": heartbeat\n\n")) {
				return
			}
		case msg := <-msgs:
			buf.Reset()
			if err := s.writeCallEvents(&buf, sess, body, chair, msg); err != nil {
				s.log.Error("web: rendering the live roster", "err", err)
				return
			}
			if !send(buf.Bytes()) {
				return
			}
		}
	}
}

// readRosterPages completes a WatchCall message whose roster is only its first page (a body whose
// roster passes the server's page size): it reads the rest with GetCallRoster from the message's
// token and appends it, so the live roster shows everyone, as the call page does. The pages read
// after the message may be a moment newer than it; the next message brings the latest anyway. This
// goroutine reads them, so the browser's heartbeat carries on meanwhile, and the next message is
// read only after, which is what WatchCall expects of a slow watcher.
func readRosterPages(ctx context.Context, calls candorv1.CallServiceClient, msg *candorv1.WatchCallResponse) error {
	if msg.GetRosterNextPageToken() == "" {
		return nil
	}
	rest, err := readall.Roster(ctx, calls, msg.GetCall().GetName(), msg.GetRosterNextPageToken(), rpcTimeout)
	if err != nil {
		return err
	}
	msg.Roster = append(msg.Roster, rest...)
	msg.RosterNextPageToken = ""
	return nil
}

// writeCallEvents renders one WatchCall message as SSE events.
func (s *Server) writeCallEvents(w *bytes.Buffer, sess *session, body *candorv1.Body, chair bool, msg *candorv1.WatchCallResponse) error {
	cv := newCallView(body, msg.GetCall(), msg.GetRoster(), sess.who.Name, chair, s.now())
	me := sess.who
	v := &view{Me: &me, CSRF: sess.csrf, Data: cv}
	state := "open"
	if !cv.Open {
		state = "closed"
	}
	writeEvent(w, "state", state)
	var part bytes.Buffer
	if err := s.tmpl.partials.ExecuteTemplate(&part, "roster", v); err != nil {
		return err
	}
	writeEvent(w, "roster", part.String())
	part.Reset()
	if err := s.tmpl.partials.ExecuteTemplate(&part, "result", v); err != nil {
		return err
	}
	writeEvent(w, "result", part.String())
	return nil
}

// writeEvent writes one SSE event; each line of data is its own "data:" field, as the format needs.
func writeEvent(w *bytes.Buffer, event, data string) {
	w.WriteString("event: ")
	w.WriteString(event)
	w.WriteByte('\n')
	for _, line := range strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n") {
		w.WriteString("data: ")
		w.WriteString(strings.TrimSuffix(line, "\r"))
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

// noStream answers an events request that cannot start with a plain status and no body: any
// status but 200 makes EventSource give up rather than retry. live.js then retries slowly itself.
func (s *Server) noStream(w http.ResponseWriter, err error) {
	code := statusHTTP(err)
	if status.Code(err) == codes.Unauthenticated {
		code = http.StatusUnauthorized
	}
	w.WriteHeader(code)
}
