//go:build tools

// Package tools pins dependencies chosen for the project that no package
// imports yet (gonum.org/v1/plot for reports, goccy/go-yaml for scenario
// files) or that only tests and tools use, so go.mod keeps their versions.
package tools

import (
	_ "filippo.io/nistec"
	_ "github.com/cockroachdb/datadriven"
	_ "github.com/goccy/go-yaml"
	_ "github.com/pion/dtls/v3/pkg/crypto/ccm"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/crypto/hkdf"
	_ "gonum.org/v1/plot"
	_ "gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	_ "gvisor.dev/gvisor/pkg/tcpip/stack"
	_ "gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)
