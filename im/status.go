package im

import "fmt"

// Status is an Interaction Model status code (spec 8.10.1, table "Status
// Codes"; values cross-checked with connectedhomeip
// src/protocols/interaction_model/StatusCodeList.h and matter.js
// packages/types/src/globals/Status.ts).
type Status uint8

// Status codes used by this package (the full table has more).
const (
	StatusSuccess                Status = 0x00
	StatusFailure                Status = 0x01
	StatusInvalidSubscription    Status = 0x7D
	StatusUnsupportedAccess      Status = 0x7E
	StatusUnsupportedEndpoint    Status = 0x7F
	StatusInvalidAction          Status = 0x80
	StatusUnsupportedCommand     Status = 0x81
	StatusInvalidCommand         Status = 0x85
	StatusUnsupportedAttribute   Status = 0x86
	StatusConstraintError        Status = 0x87
	StatusUnsupportedWrite       Status = 0x88
	StatusResourceExhausted      Status = 0x89
	StatusNotFound               Status = 0x8B
	StatusUnreportableAttribute  Status = 0x8C
	StatusInvalidDataType        Status = 0x8D
	StatusUnsupportedRead        Status = 0x8F
	StatusDataVersionMismatch    Status = 0x92
	StatusTimeout                Status = 0x94
	StatusBusy                   Status = 0x9C
	StatusUnsupportedCluster     Status = 0xC3
	StatusNoUpstreamSubscription Status = 0xC5
	StatusNeedsTimedInteraction  Status = 0xC6
	StatusUnsupportedEvent       Status = 0xC7
	StatusPathsExhausted         Status = 0xC8
	StatusTimedRequestMismatch   Status = 0xC9
	StatusFailsafeRequired       Status = 0xCA
	StatusInvalidInState         Status = 0xCB
	StatusNoCommandResponse      Status = 0xCC
)

var statusNames = map[Status]string{
	StatusSuccess:                "SUCCESS",
	StatusFailure:                "FAILURE",
	StatusInvalidSubscription:    "INVALID_SUBSCRIPTION",
	StatusUnsupportedAccess:      "UNSUPPORTED_ACCESS",
	StatusUnsupportedEndpoint:    "UNSUPPORTED_ENDPOINT",
	StatusInvalidAction:          "INVALID_ACTION",
	StatusUnsupportedCommand:     "UNSUPPORTED_COMMAND",
	StatusInvalidCommand:         "INVALID_COMMAND",
	StatusUnsupportedAttribute:   "UNSUPPORTED_ATTRIBUTE",
	StatusConstraintError:        "CONSTRAINT_ERROR",
	StatusUnsupportedWrite:       "UNSUPPORTED_WRITE",
	StatusResourceExhausted:      "RESOURCE_EXHAUSTED",
	StatusNotFound:               "NOT_FOUND",
	StatusUnreportableAttribute:  "UNREPORTABLE_ATTRIBUTE",
	StatusInvalidDataType:        "INVALID_DATA_TYPE",
	StatusUnsupportedRead:        "UNSUPPORTED_READ",
	StatusDataVersionMismatch:    "DATA_VERSION_MISMATCH",
	StatusTimeout:                "TIMEOUT",
	StatusBusy:                   "BUSY",
	StatusUnsupportedCluster:     "UNSUPPORTED_CLUSTER",
	StatusNoUpstreamSubscription: "NO_UPSTREAM_SUBSCRIPTION",
	StatusNeedsTimedInteraction:  "NEEDS_TIMED_INTERACTION",
	StatusUnsupportedEvent:       "UNSUPPORTED_EVENT",
	StatusPathsExhausted:         "PATHS_EXHAUSTED",
	StatusTimedRequestMismatch:   "TIMED_REQUEST_MISMATCH",
	StatusFailsafeRequired:       "FAILSAFE_REQUIRED",
	StatusInvalidInState:         "INVALID_IN_STATE",
	StatusNoCommandResponse:      "NO_COMMAND_RESPONSE",
}

// String returns the spec name ("UNSUPPORTED_ENDPOINT") or "STATUS(0xNN)".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("STATUS(0x%02X)", uint8(s))
}

// StatusError is a non-success IM status received from a peer, as a typed
// error (house style: status reports become typed errors).
type StatusError struct {
	Status        Status
	ClusterStatus uint8 // valid when HasClusterStatus
	// HasClusterStatus reports whether the StatusIB carried a cluster-specific code.
	HasClusterStatus bool
}

var _ error = (*StatusError)(nil)

func (e *StatusError) Error() string {
	if e.HasClusterStatus {
		return fmt.Sprintf("im: status %s, cluster status 0x%02X", e.Status, e.ClusterStatus)
	}
	return "im: status " + e.Status.String()
}
