//go:build tools

// Package tools pins dependencies chosen for the project that no package
// imports yet or that only tests and tools use, so go.mod keeps their
// versions (gonum.org/v1/plot, pinned at v0.17.0, is imported by
// reports/plot).
package tools

import (
	_ "filippo.io/nistec"
	_ "github.com/cockroachdb/datadriven"
	_ "github.com/goccy/go-yaml"
	_ "github.com/pion/dtls/v3/pkg/crypto/ccm"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/crypto/hkdf"
	_ "gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	_ "gvisor.dev/gvisor/pkg/tcpip/stack"
	_ "gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)
