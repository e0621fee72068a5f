package resource

import (
	"testing"

	"github.com/google/uuid"
)

func TestRoundTrip(t *testing.T) {
	b, c := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	gb, gc, err := ParseCall(Call(b, c))
	if err != nil || gb != b || gc != c {
		t.Fatalf("ParseCall(Call(%v, %v)) = %v, %v, %v", b, c, gb, gc, err)
	}
	if got, err := ParseParticipant(Participant(b)); err != nil || got != b {
		t.Fatalf("ParseParticipant = %v, %v; want %v", got, err, b)
	}
	if got := SOI(b, 12); got != "participants/"+b.String()+"/statementsOfInterest/12" {
		t.Errorf("SOI = %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	id := "0194f5c2-7d4e-7a1b-9c3d-2e5f6a7b8c9d"
	for _, name := range []string{
		"", "participants", "participants/", "participants/x", "bodies/" + id,
		"participants/" + id + "/", "participants/" + "0194F5C2-7D4E-7A1B-9C3D-2E5F6A7B8C9D",
		"participants/00000000-0000-0000-0000-000000000000", "participants/{" + id + "}",
	} {
		if _, err := ParseParticipant(name); err == nil {
			t.Errorf("ParseParticipant(%q) accepted", name)
		}
	}
}

func FuzzParseCall(f *testing.F) {
	f.Add("bodies/0194f5c2-7d4e-7a1b-9c3d-2e5f6a7b8c9d/calls/0194f5c2-7d4e-7a1b-9c3d-2e5f6a7b8c9e")
	f.Add("bodies//calls/")
	f.Fuzz(func(t *testing.T, name string) {
		b, c, err := ParseCall(name)
		if err != nil {
			return
		}
		if got := Call(b, c); got != name {
			t.Fatalf("ParseCall(%q) round-trips to %q", name, got)
		}
	})
}
