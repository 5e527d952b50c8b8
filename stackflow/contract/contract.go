package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// maxBody caps how much of a body the validator reads.
const maxBody = 64 << 20

// Contract is a loaded, validated OpenAPI document with a router over its
// operations. It is safe for concurrent use.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
}

// Load reads stackflow/openapi.yaml from the source tree: the file next to
// this package's directory, located through the package's source path, or
// failing that, found by walking up from the working directory to the
// module root. It is meant for tests, which always run inside the module.
// The document is read once per process; every call returns the same
// Contract.
func Load() (*Contract, error) { return loadOnce() }

var loadOnce = sync.OnceValues(func() (*Contract, error) {
	path, err := locate()
	if err != nil {
		return nil, err
	}
	return LoadFile(path)
})

// locate finds stackflow/openapi.yaml.
func locate() (string, error) {
	var tried []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		p := filepath.Join(filepath.Dir(file), "..", "openapi.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	dir, err := os.Getwd()
	if err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, "stackflow", "openapi.yaml")
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				tried = append(tried, p)
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("contract: stackflow/openapi.yaml not found (tried %s)", strings.Join(tried, ", "))
}

// LoadFile reads and validates the OpenAPI document at path.
func LoadFile(path string) (*Contract, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	return LoadData(data)
}

// LoadData parses and validates an OpenAPI 3.1 document. Requests are
// matched against its paths under any base path of the form /{stage}/api
// (as in https://acme.stackflow-tech.com/prod/api), or at the root when the
// path has no such prefix, on any host, so a fake served by httptest
// validates like the real service.
func LoadData(data []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("contract: loading OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: invalid OpenAPI document: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("contract: OpenAPI %s document; want 3.1", doc.OpenAPI)
	}
	// Route on a shallow copy without servers: the real server list names
	// stackflow-tech.com hosts only, and find strips the base path itself.
	routed := *doc
	routed.Servers = nil
	router, err := legacy.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("contract: building router: %w", err)
	}
	return &Contract{doc: doc, router: router}, nil
}

// Doc returns the parsed document. Callers must not modify it.
func (c *Contract) Doc() *openapi3.T { return c.doc }

// options are the validation options every check uses.
func options() *openapi3filter.Options {
	o := &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		SkipSettingDefaults:   true, // never rewrite the request being checked
		AuthenticationFunc:    bearerPresent,
	}
	o.WithCustomSchemaErrorFunc(schemaMessage)
	return o
}

// schemaMessage keeps schema errors to one line: where, and what is wrong,
// without kin-openapi's dump of the whole schema and value.
func schemaMessage(err *openapi3.SchemaError) string {
	if err.Origin != nil {
		return err.Origin.Error()
	}
	if p := err.JSONPointer(); len(p) > 0 && !strings.HasPrefix(err.Reason, "error at ") {
		return "at /" + strings.Join(p, "/") + ": " + err.Reason
	}
	return err.Reason
}

// bearerPresent accepts a request that carries a non-empty bearer token;
// whether the token is valid is the server's business.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || !strings.EqualFold(in.SecurityScheme.Scheme, "bearer") {
		return fmt.Errorf("unsupported security scheme %q", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New(`no "Authorization: Bearer <token>" header`)
	}
	return nil
}

// basePath matches the base path of a StackFlow URL: /{stage}/api.
var basePath = regexp.MustCompile(`^/[^/]+/api(/.*)$`)

// find matches r to an operation. The path is taken relative to the base
// path /{stage}/api when it has one, else as it is.
func (c *Contract) find(r *http.Request) (*routers.Route, map[string]string, error) {
	rel := r
	if m := basePath.FindStringSubmatch(r.URL.Path); m != nil {
		u := *r.URL
		u.Path, u.RawPath = m[1], ""
		rel = r.WithContext(r.Context())
		rel.URL = &u
	}
	route, params, err := c.router.FindRoute(rel)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	return route, params, nil
}

// ValidateRequest checks r against the document: route, parameters,
// authentication header and body. r's body is read and restored, so r can
// still be sent or served afterwards.
func (c *Contract) ValidateRequest(r *http.Request) error {
	body, err := readRequestBody(r)
	if err != nil {
		return err
	}
	_, err = c.validateRequest(r, body)
	return err
}

// validateRequest checks a request whose body was already read; it returns
// the validation input the response check needs (nil when no route matched).
func (c *Contract) validateRequest(r *http.Request, body []byte) (*openapi3filter.RequestValidationInput, error) {
	route, params, err := c.find(r)
	if err != nil {
		return nil, err
	}
	clone := r.Clone(r.Context())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	clone.ContentLength = int64(len(body))
	if len(body) == 0 {
		clone.Body = http.NoBody
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    clone,
		PathParams: params,
		Route:      route,
		Options:    options(),
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return in, fmt.Errorf("%s %s: request: %w", r.Method, r.URL.Path, err)
	}
	return in, nil
}

// ValidateResponse checks resp, the answer to r: documented status,
// required headers and body. resp's body is read and restored.
func (c *Contract) ValidateResponse(r *http.Request, resp *http.Response) error {
	body, err := readResponseBody(resp)
	if err != nil {
		return err
	}
	return c.validateResponse(r, resp.StatusCode, resp.Header, body)
}

// validateResponse checks a response given as its parts.
func (c *Contract) validateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.find(r)
	if err != nil {
		return err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      route,
			Options:    options(),
		},
		Status:  status,
		Header:  header,
		Options: options(),
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
		return fmt.Errorf("%s %s: response %d: %w", r.Method, r.URL.Path, status, err)
	}
	return nil
}

// ValidateSchema checks a JSON document against one of the document's
// component schemas, e.g. "WebhookEvent" for a webhook delivery's body.
func (c *Contract) ValidateSchema(name string, data []byte) error {
	ref := c.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("contract: no schema %q in the document", name)
	}
	value, err := decodeJSON(data)
	if err != nil {
		return fmt.Errorf("contract: schema %s: %w", name, err)
	}
	if err := ref.Value.VisitJSON(value, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("contract: schema %s: %w", name, err)
	}
	return nil
}

// ValidateWebhook checks one webhook delivery, as the subscriber received
// it, against the document's recordEvent webhook: the required headers and
// their formats, and the body. It does not verify the signature (that needs
// the secret).
func (c *Contract) ValidateWebhook(header http.Header, body []byte) error {
	item := c.doc.Webhooks["recordEvent"]
	if item == nil || item.Post == nil {
		return errors.New("contract: no recordEvent webhook in the document")
	}
	var errs []error
	for _, p := range item.Post.Parameters {
		param := p.Value
		if param == nil || param.In != openapi3.ParameterInHeader {
			continue
		}
		v := header.Get(param.Name)
		if v == "" {
			if param.Required {
				errs = append(errs, fmt.Errorf("header %s is missing", param.Name))
			}
			continue
		}
		if param.Schema != nil && param.Schema.Value != nil {
			if err := param.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
				errs = append(errs, fmt.Errorf("header %s: %w", param.Name, err))
			}
		}
	}
	if err := c.ValidateSchema("WebhookEvent", body); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("contract: webhook: %w", errors.Join(errs...))
	}
	return nil
}

// readRequestBody reads r's body and puts an unread copy back.
func readRequestBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	_ = r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("contract: reading request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return data, nil
}

// readResponseBody reads resp's body and puts an unread copy back.
func readResponseBody(resp *http.Response) ([]byte, error) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return data, fmt.Errorf("contract: reading response body: %w", err)
	}
	return data, nil
}
