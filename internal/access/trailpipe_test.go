package access

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// TestTrailToAPipeWritesAndStaysHealthy: fsync on a pipe (stderr under
// systemd, in a container, | cat) fails with EINVAL; there is nothing to
// sync, so the record is written and the trail stays healthy.
func TestTrailToAPipeWritesAndStaysHealthy(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	l := NewTrail(w)
	for i := range 3 {
		if err := l.write(Record{Caller: "cn:a", RPC: "ReplaceContacts", Code: "OK", Allowed: true}); err != nil {
			t.Fatalf("write %d to a pipe: %v", i, err)
		}
		if err := l.healthy(); err != nil {
			t.Fatalf("after write %d to a pipe: unhealthy: %v", i, err)
		}
	}
	sc := bufio.NewScanner(r)
	for i := range 3 {
		if !sc.Scan() {
			t.Fatalf("line %d missing: %v", i, sc.Err())
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.RPC != "ReplaceContacts" {
			t.Fatalf("line %d = %q (%v)", i, sc.Text(), err)
		}
	}
}
