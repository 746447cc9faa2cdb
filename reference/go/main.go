// Talki Backend Connect: the customer endpoint on Go's net/http, standard library only, in one file
// you copy.
//
// Talki POSTs {"userToken": "<id>"} with X-Talki-Signature, the lowercase hex HMAC-SHA256 of the raw
// body keyed by your signing secret, and shows the profile this answers in the ticket sidebar.
//
//	TALKI_SECRET=your-signing-secret PORT=3000 go run .
//
// It serves on 127.0.0.1; in production, put HTTPS in front (or call server.ServeTLS).
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	endpointPath   = "/talki/customer"
	tokenField     = "userToken" // Talki console: "User token field"
	bodyLimit      = 16 * 1024   // Talki's body is a few dozen bytes
	maxTokenLength = 256
	lookupTimeout  = 4 * time.Second // well inside Talki's 5 s, so Talki always gets an answer
)

// Exactly 64 hex digits: no "sha256=", no list.
var signatureGrammar = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// User is what Talki shows in the ticket sidebar; an empty value is left out of the answer.
type User struct {
	Name   string         `json:"name,omitempty"`
	Email  string         `json:"email,omitempty"`
	Plan   string         `json:"plan,omitempty"`
	Fields map[string]any `json:"fields,omitempty"` // strings, numbers and booleans
}

// FindUser returns the user with this token, or nil when there is none. Replace findUser with a query
// on your database that honours ctx (database/sql's QueryRowContext does).
type FindUser func(ctx context.Context, token string) (*User, error)

// Your users. A map finds only the keys it holds, so tokens such as "__proto__" or "constructor" find
// nobody.
var users = map[string]User{
	"usr_abc123": {
		Name:   "Alice Johnson",
		Email:  "alice@example.com",
		Plan:   "pro",
		Fields: map[string]any{"mrr": 149, "company": "Acme Inc", "signedUpAt": "2024-01-15", "seats": 5},
	},
	"usr_unicode": {
		Name:   "Zoë Łukasiewicz-Ñúñez 山田太郎 🦊",
		Email:  "zoë.山田@example.com",
		Plan:   "pro ✨",
		Fields: map[string]any{"company": "Café Ünïcode 株式会社", "city": "Kraków", "日本語キー": 42},
	},
	"usr_minimal": {}, // a user with nothing to show: the answer is {}
}

func findUser(_ context.Context, token string) (*User, error) {
	if user, found := users[token]; found {
		return &user, nil
	}
	return nil, nil
}

// Every answer is JSON and never cached (it carries personal data), with the security headers helmet
// sets on the project's Node endpoint.
var answerHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self';base-uri 'self';font-src 'self' https: data:;" +
		"form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';" +
		"script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
	"Cross-Origin-Opener-Policy":        "same-origin",
	"Cross-Origin-Resource-Policy":      "same-origin",
	"Origin-Agent-Cluster":              "?1",
	"Referrer-Policy":                   "no-referrer",
	"Strict-Transport-Security":         "max-age=31536000; includeSubDomains",
	"X-Content-Type-Options":            "nosniff",
	"X-Dns-Prefetch-Control":            "off",
	"X-Download-Options":                "noopen",
	"X-Frame-Options":                   "SAMEORIGIN",
	"X-Permitted-Cross-Domain-Policies": "none",
	"X-Xss-Protection":                  "0",
	"Cache-Control":                     "no-store",
	"Content-Type":                      "application/json; charset=utf-8",
}

type errorBody struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
}

func answer(w http.ResponseWriter, status int, body any, headers map[string]string) {
	text, err := json.Marshal(body)
	if err != nil { // a stored field json cannot encode (NaN): no half answer
		status, text = http.StatusInternalServerError, []byte(`{"error":"internal_error"}`)
	}
	for name, value := range answerHeaders {
		w.Header().Set(name, value)
	}
	for name, value := range headers {
		w.Header().Set(name, value)
	}
	w.WriteHeader(status)
	_, _ = w.Write(text)
}

func refuse(w http.ResponseWriter, status int, code string, headers map[string]string) {
	answer(w, status, errorBody{Error: code}, headers)
}

// verifySignature returns "valid", "missing_signature", "malformed_signature" or "invalid_signature".
func verifySignature(body []byte, header string, secrets [][]byte) string {
	if header == "" {
		return "missing_signature"
	}
	// The grammar first: only then is the header turned into the 32 bytes hmac.Equal is given.
	if !signatureGrammar.MatchString(header) {
		return "malformed_signature"
	}
	received, _ := hex.DecodeString(header)
	matched := false
	for _, secret := range secrets { // every secret is compared (no early return): timing tells nothing
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		matched = hmac.Equal(received, mac.Sum(nil)) || matched
	}
	if !matched {
		return "invalid_signature"
	}
	return "valid"
}

// readToken returns the token of a UTF-8 JSON object (a leading BOM is skipped), or why there is none.
func readToken(raw []byte) (token string, detail string) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(raw) || !json.Valid(raw) {
		return "", "body is not UTF-8 JSON"
	}
	// Only the top level is decoded, into a map: exact key names (a struct would match "usertoken").
	var object map[string]json.RawMessage
	if json.Unmarshal(raw, &object) != nil || json.Unmarshal(object[tokenField], &token) != nil ||
		token == "" || utf8.RuneCountInString(token) > maxTokenLength {
		return "", fmt.Sprintf("%s must be a non-empty string of at most %d characters", tokenField, maxTokenLength)
	}
	return token, ""
}

type endpoint struct {
	secrets       [][]byte
	findUser      FindUser
	lookupTimeout time.Duration
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() { // anything unexpected: 500 JSON in the answer, the cause in the log
		if problem := recover(); problem != nil {
			log.Printf("talki endpoint: %v", problem)
			refuse(w, http.StatusInternalServerError, "internal_error", nil)
		}
	}()
	// Other paths: 404. Other methods on the path (GET, HEAD, OPTIONS…): 405.
	if r.URL.Path != endpointPath {
		refuse(w, http.StatusNotFound, "not_found", nil)
		return
	}
	if r.Method != http.MethodPost {
		refuse(w, http.StatusMethodNotAllowed, "method_not_allowed", map[string]string{"Allow": "POST"})
		return
	}

	// 1. Size: a body over bodyLimit is refused without being read, and the connection closed.
	tooLarge := map[string]string{"Connection": "close"}
	if r.ContentLength > bodyLimit {
		refuse(w, http.StatusRequestEntityTooLarge, "payload_too_large", tooLarge)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, bodyLimit+1)) // the exact bytes Talki signed
	if err != nil {
		return // the caller went away mid-body: nobody to answer
	}
	if len(raw) > bodyLimit {
		refuse(w, http.StatusRequestEntityTooLarge, "payload_too_large", tooLarge)
		return
	}

	// 2. Encoding: the signature covers the bytes as sent, so nothing is inflated.
	if encoding, sent := r.Header["Content-Encoding"]; sent &&
		strings.ToLower(strings.TrimSpace(strings.Join(encoding, ", "))) != "identity" {
		refuse(w, http.StatusUnsupportedMediaType, "unsupported_encoding", nil)
		return
	}

	// 3. Verify the signature over the raw bytes, before any parsing. A header sent twice is joined
	//    with a comma, so it fails the grammar: malformed.
	verdict := verifySignature(raw, strings.Join(r.Header.Values("X-Talki-Signature"), ", "), e.secrets)
	if verdict != "valid" {
		refuse(w, http.StatusUnauthorized, verdict, nil)
		return
	}

	// 4. Read the body: an object whose token field is a non-empty string of at most 256 characters.
	token, detail := readToken(raw)
	if detail != "" {
		answer(w, http.StatusBadRequest, errorBody{Error: "invalid_body", Detail: detail}, nil)
		return
	}

	// 5. Look the user up, racing a deadline: a slow database must not make Talki time out, and a
	//    failing one answers 503 (Talki treats 5xx as "down" and retries once after 3 s).
	user, err := e.lookup(r.Context(), token)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		refuse(w, http.StatusServiceUnavailable, "lookup_timeout", map[string]string{"Retry-After": "3"})
	case err != nil:
		log.Printf("talki endpoint: user lookup failed: %v", err)
		refuse(w, http.StatusServiceUnavailable, "store_unavailable", map[string]string{"Retry-After": "3"})
	case user == nil:
		refuse(w, http.StatusNotFound, "user_not_found", nil)
	default:
		// 6. Answer the profile: only name, email, plan and fields (the User type holds nothing else).
		answer(w, http.StatusOK, user, nil)
	}
}

// lookup runs findUser with the deadline, and answers at the deadline even if findUser ignores it.
func (e *endpoint) lookup(ctx context.Context, token string) (*User, error) {
	ctx, cancel := context.WithTimeout(ctx, e.lookupTimeout)
	defer cancel()
	type result struct {
		user *User
		err  error
	}
	done := make(chan result, 1) // buffered: a late answer does not leave its goroutine blocked
	go func() {
		defer func() {
			if problem := recover(); problem != nil {
				done <- result{err: fmt.Errorf("panic: %v", problem)}
			}
		}()
		user, err := e.findUser(ctx, token)
		done <- result{user, err}
	}()
	select {
	case got := <-done:
		return got.user, got.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readSecrets reads TALKI_SECRET: one secret, or several separated by commas (any one verifies:
// rotation).
func readSecrets(value string) ([][]byte, error) {
	if value == "" {
		return nil, errors.New("TALKI_SECRET is not set: export the signing secret from Talki's console")
	}
	items := strings.Split(value, ",")
	secrets := make([][]byte, len(items))
	for i, secret := range items {
		item := ""
		if len(items) > 1 {
			item = fmt.Sprintf("item %d of %d ", i+1, len(items))
		}
		if secret == "" {
			return nil, fmt.Errorf("TALKI_SECRET %sis empty (a stray comma?)", item)
		}
		if strings.TrimSpace(secret) != secret {
			return nil, fmt.Errorf("TALKI_SECRET %shas leading or trailing white space (a stray newline?)", item)
		}
		secrets[i] = []byte(secret)
	}
	return secrets, nil
}

func readPort(value string) (string, error) {
	if value == "" {
		return "3000", nil
	}
	if _, err := strconv.ParseUint(value, 10, 16); err != nil {
		return "", fmt.Errorf("PORT must be a port number from 0 to 65535, not %q", value)
	}
	return value, nil
}

func main() {
	secrets, err := readSecrets(os.Getenv("TALKI_SECRET"))
	port := ""
	if err == nil {
		port, err = readPort(os.Getenv("PORT"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // one line, exit code 1
		os.Exit(1)
	}
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("Go endpoint listening on http://%s%s\n", listener.Addr(), endpointPath)
	server := &http.Server{
		Handler: &endpoint{secrets: secrets, findUser: findUser, lookupTimeout: lookupTimeout},
		// Slow or idle clients cannot pin sockets.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       5 * time.Second,
	}
	log.Fatal(server.Serve(listener))
}
