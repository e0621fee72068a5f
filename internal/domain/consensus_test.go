package domain

import (
	"errors"
	"testing"

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
