package domain

import (
	"errors"
	"testing"
	"time"

	candorv1 "github.com/candorhq/candor/proto/candor/v1"
)

func TestCheckMinorityStatement(t *testing.T) {
	const author, bob, carol = "participants/author", "participants/bob", "participants/carol"
	consensus := &candorv1.Call{Name: call, Kind: candorv1.CallKind_CALL_KIND_CONSENSUS, Consensus: &candorv1.ConsensusRecord{}}
	stated := map[string]bool{author: true, bob: true}
	tests := []struct {
		name      string
		call      *candorv1.Call
		author    string
		cosigners []string
		want      error
	}{
		{"alone", consensus, author, nil, nil},
		{"with a co-signer", consensus, author, []string{bob}, nil},
		{"author names themselves", consensus, author, []string{author}, ErrSelfCosigner},
		{"author among others", consensus, author, []string{bob, author}, ErrSelfCosigner},
		{"co-signer named twice", consensus, author, []string{bob, bob}, ErrDuplicateCosigner},
		{"co-signer without a position", consensus, author, []string{carol}, ErrCosignerWithoutPosition},
		{"author without a position", consensus, carol, nil, ErrPositionRequired},
		{"a vote", &candorv1.Call{Name: call}, author, nil, ErrWrongKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckMinorityStatement(tt.call, tt.author, tt.cosigners, stated); !errors.Is(got, tt.want) {
				t.Errorf("CheckMinorityStatement = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestObjectionWindow(t *testing.T) {
	tests := []struct {
		seconds int64
		want    time.Duration
		wantErr error
	}{
		{0, DefaultObjectionWindow, nil},
		{1, time.Second, nil},
		{3600, time.Hour, nil},
		{int64(MaxObjectionWindow / time.Second), MaxObjectionWindow, nil},
		{int64(MaxObjectionWindow/time.Second) + 1, 0, ErrObjectionWindowRange},
		{-1, 0, ErrObjectionWindowRange},
		{1 << 62, 0, ErrObjectionWindowRange}, // would overflow a Duration
	}
	for _, tt := range tests {
		got, err := ObjectionWindow(tt.seconds)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("ObjectionWindow(%d) = %v, %v; want %v, %v", tt.seconds, got, err, tt.want, tt.wantErr)
		}
	}
	closed := &candorv1.Call{Name: call, Kind: candorv1.CallKind_CALL_KIND_CONSENSUS, State: candorv1.CallState_CALL_STATE_CLOSED}
	if err := CheckPropose(closed, -5); !errors.Is(err, ErrObjectionWindowRange) {
		t.Errorf("CheckPropose with a negative window = %v, want %v", err, ErrObjectionWindowRange)
	}
	if err := CheckPropose(closed, 3600); err != nil {
		t.Errorf("CheckPropose with an hour's window = %v", err)
	}
}

func TestCheckConflictDescription(t *testing.T) {
	tests := []struct {
		level candorv1.ConflictLevel
		desc  string
		want  error
	}{
		{candorv1.ConflictLevel_CONFLICT_LEVEL_NONE, "", nil},
		{candorv1.ConflictLevel_CONFLICT_LEVEL_POTENTIAL, "", ErrDescriptionRequired},
		{candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, " \n\t", ErrDescriptionRequired},
		{candorv1.ConflictLevel_CONFLICT_LEVEL_ACTUAL, "I advise a registrar", nil},
	}
	for _, tt := range tests {
		if got := CheckConflictDescription(tt.level, tt.desc); !errors.Is(got, tt.want) {
			t.Errorf("CheckConflictDescription(%v, %q) = %v, want %v", tt.level, tt.desc, got, tt.want)
		}
	}
}
