// Unit tests of main.go with net/http/httptest:  go test ./...  (in reference/go)
// Every signature below is a known answer, computed with the command beside it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	alice         = `{"name":"Alice Johnson","email":"alice@example.com","plan":"pro","fields":{"mrr":149,"company":"Acme Inc","signedUpAt":"2024-01-15","seats":5}}`
	vendorBody    = `{"userToken":"usr_abc123"}`
	notJSON       = `{"error":"invalid_body","detail":"body is not UTF-8 JSON"}`
	noToken       = `{"error":"invalid_body","detail":"userToken must be a non-empty string of at most 256 characters"}`
	userNotFound  = `{"error":"user_not_found"}`
	testSecret    = "test-secret-0123456789"
	rotatedSecret = "rotated-secret-abcdef"
	// printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
	vendorSignature = "c9db3bfddcfc85e7f43790bfef0ccc2618adf476fbcbbd85227d8cf481212bd7"
	// printf '%s' '{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'rotated-secret-abcdef'
	rotatedSignature = "dc35afae4cdc5dec3f9f3cde9f80a0082427a7ebf047fb90eb33d93af403e2d4"
)

// body → printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'test-secret-0123456789'
var signed = map[string]string{
	`{"userToken":"usr_minimal"}`:        "cc3544845d8637e7f1c828bf5f57710faa75fcf62e368b88bd418f2198365b66",
	`{"userToken":"usr_nobody"}`:         "e34375bf9d60e244d7088fa1d68588389e70d34ddaee61faf6b05bf7ace5afd2",
	`{"userToken":"__proto__"}`:          "d51cf53bf9c66f8cd74019af3cabb882e3686c44f774e928f531b585ec34cc83",
	`{"userToken":"constructor"}`:        "4ff1d3a6a4be5f9ca6b240fbd8abe84c893a7dc75e9d3df0b3c272a14cf1ef51",
	`nope`:                               "e030832dcffba7d60b0c9324b4c7f56b63ce21e44f7f2b9b3610202f28cba797",
	`{"userToken":"usr_abc123","n":NaN}`: "28725b3d186df1020e20b5314cd9e08132df2d6e89554e787108e6e25323d231",
	`{"user":"usr_abc123"}`:              "a81a8d1de42b6fc593d4dff9d9ebc85e8b652cdbec8df839d206163b97a97133",
	`{"userToken":""}`:                   "5c9e4f5578825b15146785f66fa1c6378bd4a20f9f92672d4d98aef0d4000a58",
	`{"userToken":"usr_slow"}`:           "68a1147cfd15c7db7309a68d23334e52c8823ed9b93e36c6b84dc61d57d869c1",
	`{"userToken":"usr_failing"}`:        "07ad032dc8be0d6265ec67ee41e6d001cf0655a4f2354c98df2d3b59356f724f",
	// printf '{"userToken":"\377"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
	"{\"userToken\":\"\xff\"}": "3202d322873ca120b4609ff0c515a88693b071ebc482bfa739eaccdff52a80a2",
	// printf '\357\273\277{"userToken":"usr_abc123"}' | openssl dgst -sha256 -hmac 'test-secret-0123456789'
	"\xef\xbb\xbf" + vendorBody: "e3c27b277b158588e68f5003de51e5addd3e759586d6deeee8864b6ac7ee5400",
}

// testEndpoint serves the seeded users, plus usr_slow (answers after 2 s, past the 300 ms deadline)
// and usr_failing (the database is down).
func testEndpoint() *endpoint {
	find := func(ctx context.Context, token string) (*User, error) {
		switch token {
		case "usr_slow":
			time.Sleep(2 * time.Second) // ignores ctx, as a careless driver would
		case "usr_failing":
			return nil, errors.New("database down")
		}
		return findUser(ctx, token)
	}
	secrets := [][]byte{[]byte(testSecret), []byte(rotatedSecret)}
	return &endpoint{secrets: secrets, findUser: find, lookupTimeout: 300 * time.Millisecond}
}

func send(method, target, body string, headers map[string]string) *http.Response {
	request := httptest.NewRequest(method, target, strings.NewReader(body))
	for name, value := range headers {
		request.Header.Set(name, value)
	}
	recorder := httptest.NewRecorder()
	testEndpoint().ServeHTTP(recorder, request)
	return recorder.Result()
}

func post(body, signature string) *http.Response {
	headers := map[string]string{"Content-Type": "application/json"}
	if signature != "" {
		headers["X-Talki-Signature"] = signature
	}
	return send(http.MethodPost, endpointPath, body, headers)
}

// expectAnswer checks the status and that the body is the same JSON as want.
func expectAnswer(t *testing.T, response *http.Response, status int, want string) {
	t.Helper()
	text, _ := io.ReadAll(response.Body)
	var got, expected any
	if err := json.Unmarshal(text, &got); err != nil {
		t.Fatalf("answer is not JSON: %q", text)
	}
	_ = json.Unmarshal([]byte(want), &expected)
	if response.StatusCode != status || !reflect.DeepEqual(got, expected) {
		t.Fatalf("got %d %s, want %d %s", response.StatusCode, text, status, want)
	}
	if response.Header.Get("Cache-Control") != "no-store" ||
		response.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("headers: %v", response.Header)
	}
}

func TestAnswersTheProfileToASignatureUnderEitherSecret(t *testing.T) {
	for _, signature := range []string{vendorSignature, rotatedSignature, strings.ToUpper(vendorSignature)} {
		expectAnswer(t, post(vendorBody, signature), 200, alice)
	}
}

func TestAnswersExactlyTheKeysAUserHasAndSkipsABOM(t *testing.T) {
	body := `{"userToken":"usr_minimal"}`
	expectAnswer(t, post(body, signed[body]), 200, `{}`)
	body = "\xef\xbb\xbf" + vendorBody
	expectAnswer(t, post(body, signed[body]), 200, alice)
}

func TestRefusesABadSignatureWith401(t *testing.T) {
	cases := map[string]string{
		"":                                   "missing_signature",
		vendorSignature[:32]:                 "malformed_signature",
		vendorSignature + "00":               "malformed_signature",
		strings.Repeat("z", 64):              "malformed_signature",
		strings.Repeat("\xe9", 64):           "malformed_signature", // é in Latin-1, as check sends it
		"sha256=" + vendorSignature:          "malformed_signature",
		signed[`{"userToken":"usr_nobody"}`]: "invalid_signature",
	}
	for signature, verdict := range cases {
		expectAnswer(t, post(vendorBody, signature), 401, fmt.Sprintf(`{"error":%q}`, verdict))
	}
}

func TestASignatureHeaderSentTwiceIsMalformed(t *testing.T) {
	request := httptest.NewRequest(http.MethodPost, endpointPath, strings.NewReader(vendorBody))
	request.Header.Add("X-Talki-Signature", vendorSignature)
	request.Header.Add("X-Talki-Signature", vendorSignature)
	recorder := httptest.NewRecorder()
	testEndpoint().ServeHTTP(recorder, request)
	expectAnswer(t, recorder.Result(), 401, `{"error":"malformed_signature"}`)
}

func TestRefusesASignedBodyItCannotReadWith400(t *testing.T) {
	cases := map[string]string{
		`nope`:                               notJSON,
		"{\"userToken\":\"\xff\"}":           notJSON,
		`{"userToken":"usr_abc123","n":NaN}`: notJSON,
		`{"user":"usr_abc123"}`:              noToken,
		`{"userToken":""}`:                   noToken,
	}
	for body, want := range cases {
		expectAnswer(t, post(body, signed[body]), 400, want)
	}
}

func TestAnswers404ToATokenNoUserHas(t *testing.T) {
	for _, token := range []string{"usr_nobody", "__proto__", "constructor"} {
		body := fmt.Sprintf(`{"userToken":%q}`, token)
		expectAnswer(t, post(body, signed[body]), 404, userNotFound)
	}
}

func TestAnswers503AtTheLookupDeadlineEvenIfTheStoreIgnoresIt(t *testing.T) {
	body := `{"userToken":"usr_slow"}`
	started := time.Now()
	response := post(body, signed[body])
	expectAnswer(t, response, 503, `{"error":"lookup_timeout"}`)
	if response.Header.Get("Retry-After") != "3" || time.Since(started) > 1500*time.Millisecond {
		t.Fatalf("Retry-After %q after %v", response.Header.Get("Retry-After"), time.Since(started))
	}
}

func TestAnswers503WhenTheStoreFailsWithoutTellingWhy(t *testing.T) {
	body := `{"userToken":"usr_failing"}`
	response := post(body, signed[body])
	expectAnswer(t, response, 503, `{"error":"store_unavailable"}`)
	if response.Header.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q", response.Header.Get("Retry-After"))
	}
}

func TestRefusesABodyOverTheLimitWith413AndCloses(t *testing.T) {
	response := post(vendorBody+strings.Repeat(" ", bodyLimit+1-len(vendorBody)), vendorSignature)
	expectAnswer(t, response, 413, `{"error":"payload_too_large"}`)
	if response.Header.Get("Connection") != "close" {
		t.Fatalf("Connection %q", response.Header.Get("Connection"))
	}
	// At the limit the body is read, then refused for its signature.
	expectAnswer(t, post(vendorBody+strings.Repeat(" ", bodyLimit-len(vendorBody)), vendorSignature), 401,
		`{"error":"invalid_signature"}`)
}

func TestRefusesACompressedBodyWith415(t *testing.T) {
	headers := map[string]string{"X-Talki-Signature": vendorSignature, "Content-Encoding": "gzip"}
	expectAnswer(t, send(http.MethodPost, endpointPath, vendorBody, headers), 415, `{"error":"unsupported_encoding"}`)
	headers["Content-Encoding"] = "identity"
	expectAnswer(t, send(http.MethodPost, endpointPath, vendorBody, headers), 200, alice)
}

func TestAnswers405WithAllowPostToOtherMethods(t *testing.T) {
	for _, method := range []string{"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		response := send(method, endpointPath+"?userToken=usr_abc123", vendorBody, nil)
		expectAnswer(t, response, 405, `{"error":"method_not_allowed"}`)
		if response.Header.Get("Allow") != "POST" {
			t.Fatalf("%s: Allow %q", method, response.Header.Get("Allow"))
		}
	}
}

func TestAnswers404JSONElsewhere(t *testing.T) {
	for _, path := range []string{"/", "/talki/customers", "/talki/customer/", "//talki/customer"} {
		headers := map[string]string{"X-Talki-Signature": vendorSignature}
		expectAnswer(t, send(http.MethodPost, path, vendorBody, headers), 404, `{"error":"not_found"}`)
	}
}

func TestRefusesASecretListThatCannotWork(t *testing.T) {
	cases := map[string]string{
		"":         "TALKI_SECRET is not set",
		"a,,b":     "TALKI_SECRET item 2 of 3 is empty",
		"secret\n": "TALKI_SECRET has leading or trailing white space",
	}
	for value, problem := range cases {
		if _, err := readSecrets(value); err == nil || !strings.HasPrefix(err.Error(), problem) {
			t.Fatalf("%q: %v", value, err)
		}
	}
	if secrets, _ := readSecrets("new,old"); len(secrets) != 2 || string(secrets[1]) != "old" {
		t.Fatalf("new,old: %q", secrets)
	}
}

// Over real HTTP, many requests at once: each gets its own token's answer.
func TestAnswersEachTokenItsOwnProfileUnderConcurrency(t *testing.T) {
	server := httptest.NewServer(testEndpoint())
	defer server.Close()
	bodies := map[string]string{vendorBody: alice, `{"userToken":"usr_minimal"}`: `{}`,
		`{"userToken":"usr_nobody"}`: userNotFound, `{"userToken":"__proto__"}`: userNotFound}
	statuses := map[string]int{vendorBody: 200, `{"userToken":"usr_minimal"}`: 200}
	var wg sync.WaitGroup
	failures := make(chan string, 200)
	for i := 0; i < 50; i++ {
		for body, want := range bodies {
			wg.Add(1)
			go func(body, want string) {
				defer wg.Done()
				signature := signed[body]
				if body == vendorBody {
					signature = vendorSignature
				}
				request, _ := http.NewRequest(http.MethodPost, server.URL+endpointPath, strings.NewReader(body))
				request.Header.Set("X-Talki-Signature", signature)
				response, err := http.DefaultClient.Do(request)
				if err != nil {
					failures <- err.Error()
					return
				}
				defer response.Body.Close()
				text, _ := io.ReadAll(response.Body)
				var got, expected any
				_ = json.Unmarshal(text, &got)
				_ = json.Unmarshal([]byte(want), &expected)
				status := statuses[body]
				if status == 0 {
					status = 404
				}
				if response.StatusCode != status || !reflect.DeepEqual(got, expected) {
					failures <- fmt.Sprintf("%s → %d %s", body, response.StatusCode, text)
				}
			}(body, want)
		}
	}
	wg.Wait()
	close(failures)
	for failure := range failures {
		t.Error(failure)
	}
}
