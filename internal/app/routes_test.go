package app_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// templateRoutes reads the HttpApi events of every function in template.yaml.
func templateRoutes(t *testing.T) map[string][]string {
	b, err := os.ReadFile(testkit.Path(t, "template.yaml"))
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	get := func(n *yaml.Node, key string) *yaml.Node {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	out := map[string][]string{}
	res := get(doc.Content[0], "Resources")
	require.NotNil(t, res)
	for i := 0; i+1 < len(res.Content); i += 2 {
		name, r := res.Content[i].Value, res.Content[i+1]
		if get(r, "Type").Value != "AWS::Serverless::Function" {
			continue
		}
		fn := strings.ToLower(strings.TrimSuffix(name, "Function"))
		events := get(get(r, "Properties"), "Events")
		for j := 0; events != nil && j+1 < len(events.Content); j += 2 {
			ev := events.Content[j+1]
			if get(ev, "Type").Value != "HttpApi" {
				continue
			}
			p := get(ev, "Properties")
			out[fn] = append(out[fn], get(p, "Method").Value+" "+get(p, "Path").Value)
		}
		sort.Strings(out[fn])
	}
	return out
}

// TestTemplateRoutesMatchHandlers checks that API Gateway routes exactly the
// endpoints each function's handler serves, to that function.
func TestTemplateRoutesMatchHandlers(t *testing.T) {
	tpl := templateRoutes(t)
	fns := app.Functions(&httpapi.Deps{})
	require.Len(t, tpl, len(fns))
	for name, h := range fns {
		var got []string
		for _, r := range httpapi.Routes(h) {
			got = append(got, r.Method+" "+r.Path)
		}
		sort.Strings(got)
		assert.Equal(t, got, tpl[name], "routes of the %s function", name)
	}
}
