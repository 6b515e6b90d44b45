package devstate

import (
	"bytes"

	"mattersim/nodes/commissionee"
)

// Keeper keeps a Device's State in the file at Path: Keep saves the
// State when it differs from what the file holds, so a driver may call it
// after every input and the file is written only when a committed change
// (CommissioningComplete, RemoveFabric, UpdateFabricLabel, an ACL write, a
// new resumption record) happened. What is pending under a fail-safe is
// not in a State (commissionee.Device.State), so it is never written.
// Not safe for concurrent use.
type Keeper struct {
	Path string
	last []byte // the file's contents as last loaded or saved
}

// NewKeeper returns a Keeper for path whose file holds st (as just
// loaded), or nothing yet if st is nil.
func NewKeeper(path string, st *commissionee.State) (*Keeper, error) {
	k := &Keeper{Path: path}
	if st != nil {
		b, err := Encode(*st)
		if err != nil {
			return nil, err
		}
		k.last = b
	}
	return k, nil
}

// Keep saves st if it changed and reports whether it wrote the file. On
// an error the file keeps its old contents and the next Keep tries again.
func (k *Keeper) Keep(st commissionee.State) (bool, error) {
	b, err := Encode(st)
	if err != nil {
		return false, &PathError{k.Path, err}
	}
	if bytes.Equal(b, k.last) {
		return false, nil
	}
	if err := Save(k.Path, b); err != nil {
		return false, err
	}
	k.last = b
	return true, nil
}
