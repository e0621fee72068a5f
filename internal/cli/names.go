package cli

import "strings"

// nameShapes are the resource names accepted on the command line: "*" is one id segment. Only the shape
// is checked here, so that a display name or a title passed by mistake fails before a round trip; the
// server checks the ids.
var nameShapes = map[string]string{
	"participant":        "participants/*",
	"body":               "bodies/*",
	"call":               "bodies/*/calls/*",
	"minority statement": "bodies/*/calls/*/minorityStatements/*",
}

// checkName returns a usage error unless value has the shape of a kind resource name. what names the
// argument or flag in the message ("CALL", "--eligible").
func checkName(kind, what, value string) error {
	shape := strings.Split(nameShapes[kind], "/")
	parts := strings.Split(value, "/")
	ok := len(parts) == len(shape)
	for i := 0; ok && i < len(parts); i++ {
		if shape[i] == "*" {
			ok = parts[i] != "" && strings.TrimSpace(parts[i]) == parts[i]
		} else {
			ok = parts[i] == shape[i]
		}
	}
	if ok {
		return nil
	}
	example := strings.ReplaceAll(nameShapes[kind], "*", "ID")
	return usageErrorf("%s must be a %s name like %s, not %q", what, kind, example, value)
}
