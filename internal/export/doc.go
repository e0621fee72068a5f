// Package export writes a body's export for the minutes, the records AuditService.ExportBody
// streams, as files: JSON Lines (one protojson record a line), or CSV (RFC 4180), one file per kind
// of record, in a folder or a zip. The CLI (candor export) and the server's REST download
// (GET /v1/bodies/{body}:export?format=csv) write with it, so both give the same files.
//
// It formats what it is given and must never decide what a reader may see: the server already left
// out and withheld what the reader may not read.
package export
