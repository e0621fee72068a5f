// Package utf8check finds the string field of a protobuf message that holds invalid UTF-8, and names
// it the way Candor's field violations do ("call.title", "statement_of_interest.interests[2].nature").
//
// protobuf-go refuses invalid UTF-8 in proto3 string fields, both when it marshals and when it
// parses, but its error names no field. The server's codec uses [Wire] on the bytes it could not
// parse, and clients (the CLI, the HTTP side's in-process connection) use [Message] before sending,
// so that the refusal can say which field is wrong. The package depends on protobuf alone, so the
// CLI can import it without the server.
//
// It only finds; it never repairs or accepts the bad text.
package utf8check

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxDepth bounds nesting, as protobuf-go's own recursion limit does; Candor's messages nest a few
// levels deep.
const maxDepth = 100

// Message returns the path of the first string field of m (in field-number order, then list or map
// order) that is not valid UTF-8, or "" when there is none.
func Message(m proto.Message) string {
	if m == nil {
		return ""
	}
	return inMessage(m.ProtoReflect(), "", 0)
}

func inMessage(m protoreflect.Message, prefix string, depth int) string {
	if depth > maxDepth || !m.IsValid() {
		return ""
	}
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		name := join(prefix, string(fd.Name()))
		v := m.Get(fd)
		switch {
		case fd.IsList():
			l := v.List()
			for j := 0; j < l.Len(); j++ {
				if p := inValue(fd, l.Get(j), fmt.Sprintf("%s[%d]", name, j), depth); p != "" {
					return p
				}
			}
		case fd.IsMap():
			var found string
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.Value()
				if fd.MapKey().Kind() == protoreflect.StringKind && !utf8.ValidString(key.String()) {
					found = name
					return false
				}
				found = inValue(fd.MapValue(), mv, fmt.Sprintf("%s[%v]", name, key.Interface()), depth)
				return found == ""
			})
			if found != "" {
				return found
			}
		default:
			if p := inValue(fd, v, name, depth); p != "" {
				return p
			}
		}
	}
	return ""
}

func inValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, depth int) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !utf8.ValidString(v.String()) {
			return path
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return inMessage(v.Message(), path, depth+1)
	}
	return ""
}

// Wire returns the path of the first string field in b, the wire form of a message described by md,
// that is not valid UTF-8, or "" when there is none or b cannot be walked far enough to find one.
// Repeated fields are indexed by their order on the wire, which is the order of the parsed list.
func Wire(b []byte, md protoreflect.MessageDescriptor) string {
	p, _ := inWire(b, md, "", 0)
	return p
}

// inWire walks one message's fields; ok is false when b is malformed.
func inWire(b []byte, md protoreflect.MessageDescriptor, prefix string, depth int) (path string, ok bool) {
	if depth > maxDepth {
		return "", false
	}
	seen := map[protowire.Number]int{} // occurrences so far of each repeated field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", false
		}
		value := b[:n]
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if fd == nil || typ != protowire.BytesType {
			continue // unknown fields are kept as bytes; scalars hold no text
		}
		name := join(prefix, string(fd.Name()))
		if fd.IsList() {
			name = fmt.Sprintf("%s[%d]", name, seen[num])
			seen[num]++
		}
		raw, m := protowire.ConsumeBytes(value)
		if m < 0 {
			return "", false
		}
		switch {
		case fd.IsMap():
			if p, ok := inMapEntry(raw, fd, name, depth); p != "" || !ok {
				return p, ok
			}
		case fd.Kind() == protoreflect.StringKind:
			if !utf8.Valid(raw) {
				return name, true
			}
		case fd.Kind() == protoreflect.MessageKind:
			if p, ok := inWire(raw, fd.Message(), name, depth+1); p != "" || !ok {
				return p, ok
			}
		}
	}
	return "", true
}

// inMapEntry walks one map entry (a message of key = 1, value = 2), naming a bad value by its key
// (when the key comes first on the wire, as every encoder writes it).
func inMapEntry(b []byte, fd protoreflect.FieldDescriptor, base string, depth int) (string, bool) {
	entry := fd.Message()
	var key string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return "", false
		}
		value := b[:n]
		b = b[n:]
		efd := entry.Fields().ByNumber(num)
		if efd == nil || typ != protowire.BytesType {
			continue
		}
		raw, m := protowire.ConsumeBytes(value)
		if m < 0 {
			return "", false
		}
		switch {
		case num == 1 && efd.Kind() == protoreflect.StringKind:
			if !utf8.Valid(raw) {
				return base, true
			}
			key = string(raw)
		case efd.Kind() == protoreflect.StringKind:
			if !utf8.Valid(raw) {
				return fmt.Sprintf("%s[%s]", base, key), true
			}
		case efd.Kind() == protoreflect.MessageKind:
			if p, ok := inWire(raw, efd.Message(), fmt.Sprintf("%s[%s]", base, key), depth+1); p != "" || !ok {
				return p, ok
			}
		}
	}
	return "", true
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
