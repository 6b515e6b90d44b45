package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"mattersim/tlv"
)

func init() {
	decodeSubcommands = append(decodeSubcommands, newDecodeTLVCommand)
}

func newDecodeTLVCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tlv HEX...",
		Short: "Pretty-print Matter TLV bytes (spec appendix A)",
		Long: `Decode Matter TLV (Matter Core Specification appendix A) given as hex and
print it as indented text: tags (context "1:", common profile "Matter::1:",
fully qualified "0xFFF1::0xDEED:1:"), types with their encoded width, and
values. Spaces and colons in the hex are ignored, a 0x prefix is allowed,
and several arguments are joined. "-" reads the hex from standard input and
"@FILE" from FILE.`,
		Example: `  mattersim decode tlv 1518
  mattersim decode tlv "15 24 01 2a 2c 02 05 68 65 6c 6c 6f 18"
  echo 1518 | mattersim decode tlv -`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput("decode tlv: missing HEX argument")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readHexArgs(cmd.InOrStdin(), args)
			if err != nil {
				return badInput("decode tlv: %v", err)
			}
			out, err := tlv.Format(b)
			if err != nil {
				// One line naming the offset: "decode tlv: offset 3: ...".
				return badInput("decode tlv: %s", strings.TrimPrefix(err.Error(), "tlv: "))
			}
			_, err = cmd.OutOrStdout().Write([]byte(out))
			return err
		},
	}
}

// maxHexInput bounds what "-" and "@FILE" read: far above any Matter
// message or TLV payload, small enough that a wrong file is refused
// quickly rather than read whole.
const maxHexInput = 1 << 20

// readHexArgs returns the bytes the HEX arguments give: "-" alone reads
// the hex from in, "@FILE" alone from FILE, anything else is hex joined
// across the arguments (parseHexArg).
func readHexArgs(in io.Reader, args []string) ([]byte, error) {
	if len(args) == 1 && (args[0] == "-" || strings.HasPrefix(args[0], "@")) {
		name := "standard input"
		var r io.Reader = in
		if args[0] != "-" {
			name = args[0][1:]
			f, err := os.Open(name)
			if err != nil {
				return nil, fmt.Errorf("reading hex: %w", err)
			}
			defer f.Close()
			r = f
		}
		data, err := io.ReadAll(io.LimitReader(r, maxHexInput+1))
		if err != nil {
			return nil, fmt.Errorf("reading hex from %s: %w", name, err)
		}
		if len(data) > maxHexInput {
			return nil, fmt.Errorf("%s: more than %d bytes of input; expected hex text", name, maxHexInput)
		}
		b, err := parseHexArg(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	for _, a := range args {
		if a == "-" || strings.HasPrefix(a, "@") {
			return nil, fmt.Errorf("%q must be the only HEX argument", a)
		}
	}
	return parseHexArg(strings.Join(args, ""))
}

// parseHexArg accepts hex with optional 0x prefix and any spaces, tabs or
// colons between digits.
func parseHexArg(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', ':', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
	if s == "" {
		return nil, errors.New("no hex digits")
	}
	if len(s)%2 != 0 {
		return nil, errors.New("odd number of hex digits")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return nil, errors.New("invalid hex character " + strconv.QuoteRune(rune(ie)))
		}
		return nil, err
	}
	return b, nil
}
