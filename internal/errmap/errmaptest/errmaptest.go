// Package errmaptest reads the recorded upstream answers of
// internal/errmap/testdata/answers, so that the translation tests and the
// end-to-end tests of the service replay the same files.
//
// An answer file is: a first line "METHOD STATUS", header lines, a blank
// line, then the body; lines starting with '#' are comments.
package errmaptest

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Answer is one recorded upstream answer.
type Answer struct {
	// Method is the REST method of the call that got it.
	Method string
	Status int
	Header http.Header
	Body   []byte
}

// ReadAnswer reads the answer file at path.
func ReadAnswer(path string) (Answer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{Header: http.Header{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	inHeader := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case a.Method == "":
			m, s, _ := strings.Cut(line, " ")
			a.Method = m
			if a.Status, err = strconv.Atoi(s); err != nil {
				return Answer{}, fmt.Errorf("%s: bad first line %q", path, line)
			}
			inHeader = true
		case inHeader && line == "":
			inHeader = false
		case inHeader:
			k, v, _ := strings.Cut(line, ":")
			a.Header.Set(k, strings.TrimSpace(v))
		default:
			a.Body = append(append(a.Body, line...), '\n')
		}
	}
	if err := sc.Err(); err != nil {
		return Answer{}, err
	}
	a.Body = bytes.TrimSuffix(a.Body, []byte("\n"))
	return a, nil
}

// ServeHTTP writes the answer, with Content-Type application/json unless
// the file names another.
func (a Answer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}
