package web

import (
	"errors"
	"io"
	"net/http"
	"path"

	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/internal/export"
	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

// exportDownload implements GET /bodies/{body}/export: the body's whole record for the minutes, a
// zip of CSV files (one per kind of record), exactly as `candor export --format csv --out FILE.zip`
// writes it. The server decides what the reader may see, as for the call records. The zip is
// assembled before a byte is sent, so a refusal or a failure while reading is an ordinary error page.
func (s *Server) exportDownload(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := s.streamCtx(r, sess) // a long record takes longer than one RPC's bound
	defer cancel()
	stream, err := s.audit.ExportBody(ctx, &candorv1.ExportBodyRequest{Body: bodyName(r)})
	var header *candorv1.ExportBodyResponse
	if err == nil {
		header, err = stream.Recv() // a refusal comes with the first message
	}
	var zip *export.TempFile
	if err == nil {
		zip, err = export.ZipTemp(header, stream.Recv)
	}
	if err != nil {
		if _, isStatus := status.FromError(err); !isStatus || errors.Is(err, io.EOF) {
			s.renderError(w, r, sess, http.StatusInternalServerError, "The export could not be assembled on the server. Try again, or use candor export.")
			return
		}
		s.rpcFailed(w, r, sess, "export", err)
		return
	}
	defer zip.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="candor-export-`+path.Base(bodyName(r))+`.zip"`)
	io.Copy(w, zip)
}
