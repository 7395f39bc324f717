package app_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// TestLocalCORSMatchesTemplate holds the local server's CORS answers to
// the HttpApi's CorsConfiguration in template.yaml.
func TestLocalCORSMatchesTemplate(t *testing.T) {
	b, err := os.ReadFile(testkit.Path(t, "template.yaml"))
	require.NoError(t, err)
	var doc struct {
		Parameters struct {
			CorsAllowOrigins struct {
				Default string `yaml:"Default"`
			} `yaml:"CorsAllowOrigins"`
		} `yaml:"Parameters"`
		Globals struct {
			HttpApi struct {
				CorsConfiguration struct {
					AllowOrigins  yaml.Node `yaml:"AllowOrigins"`
					AllowMethods  []string  `yaml:"AllowMethods"`
					AllowHeaders  []string  `yaml:"AllowHeaders"`
					ExposeHeaders []string  `yaml:"ExposeHeaders"`
					MaxAge        int       `yaml:"MaxAge"`
				} `yaml:"CorsConfiguration"`
			} `yaml:"HttpApi"`
		} `yaml:"Globals"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	c := doc.Globals.HttpApi.CorsConfiguration
	// The origins are the stack parameter's; the local server answers as
	// its default does.
	require.Equal(t, "!Ref", c.AllowOrigins.Tag)
	require.Equal(t, "CorsAllowOrigins", c.AllowOrigins.Value)
	origins := strings.Split(doc.Parameters.CorsAllowOrigins.Default, ",")
	assert.Equal(t, app.CORS{AllowOrigins: origins, AllowMethods: c.AllowMethods, AllowHeaders: c.AllowHeaders,
		ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge}, app.LocalCORS)
}

// TestLocalMethodsAndPreflight: on the local composition a wrong method or
// a bare OPTIONS gets 405 with Allow and the error object, whichever
// function serves the path; a CORS preflight of a routed method is
// answered 204 with the CORS headers.
func TestLocalMethodsAndPreflight(t *testing.T) {
	h := app.Local(&httpapi.Deps{}, nil)
	for _, tc := range []struct {
		method, path, origin, want string
		status                     int
		allow                      string
	}{
		{"OPTIONS", "/v2/faces", "", "", 405, "POST"},
		{"PUT", "/v2/bio-sessions/abc", "", "", 405, "GET, DELETE"},
		{"PATCH", "/v2/galleries/g/members", "", "", 405, "GET, POST, DELETE"},
		{"GET", "/v2/match", "", "", 405, "POST"},
		{"OPTIONS", "/v2/templates/5", "https://app.example", "", 405, "GET, DELETE"},
		{"OPTIONS", "/v2/nothing", "https://app.example", "GET", 404, ""},
		{"OPTIONS", "/v2/faces", "https://app.example", "POST", 204, ""},
		{"OPTIONS", "/v2/bio-sessions/abc", "https://app.example", "DELETE", 204, ""},
		{"OPTIONS", "/v2/bio-sessions/abc", "https://app.example", "POST", 405, "GET, DELETE"},
		{"GET", "/v2/bio-sessions/../capabilities", "", "", 400, ""},
		{"GET", "/v2/faces/", "", "", 404, ""},
	} {
		t.Run(tc.method+" "+tc.path+" "+tc.want, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.want != "" {
				req.Header.Set("Access-Control-Request-Method", tc.want)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Equal(t, tc.allow, rec.Header().Get("Allow"))
			if tc.status == http.StatusNoContent {
				assert.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
				assert.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "apikey")
				assert.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), tc.want)
				return
			}
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.True(t, strings.Contains(rec.Body.String(), `"code"`), rec.Body.String())
			assert.NotEmpty(t, rec.Header().Get("X-Request-Id"))
		})
	}
}
