package scenarios

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/invopop/jsonschema"
	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite generated files and golden error lists")

// generated returns the schema as generated from this package's types
// and comments now.
func generated(t *testing.T) []byte {
	t.Helper()
	r := &jsonschema.Reflector{}
	require.NoError(t, r.AddGoComments("mattersim/scenarios", "."))
	b, err := GenerateSchema(r.CommentMap)
	require.NoError(t, err)
	return b
}

// The embedded schema (mattersim schema) is the one the types generate.
func TestSchemaUpToDate(t *testing.T) {
	b := generated(t)
	if *update {
		require.NoError(t, os.WriteFile("schema.json", b, 0o644))
	}
	require.Equal(t, string(b), string(Schema()), "schema.json is stale: go test ./scenarios -run TestSchemaUpToDate -update")
}

// compiledSchema compiles the embedded schema with santhosh-tekuri/jsonschema.
func compiledSchema(t testing.TB) *sjs.Schema {
	t.Helper()
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(Schema()))
	require.NoError(t, err)
	c := sjs.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource(SchemaID, doc))
	s, err := c.Compile(SchemaID)
	require.NoError(t, err)
	return s
}

// schemaValidate converts YAML to a JSON value and validates it.
func schemaValidate(s *sjs.Schema, data []byte) error {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := sjs.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

// Every shipped scenario validates against the schema, as written.
func TestShippedValidateAgainstSchema(t *testing.T) {
	s := compiledSchema(t)
	for _, sh := range Shipped() {
		require.NoError(t, schemaValidate(s, sh.Data), sh.File)
	}
}
