package access

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// TestBucketsEvictTheLeastRecentlyUsed: past 10,000 identities, a new one
// drops the bucket least recently used, not every bucket: a caller over
// its share stays over it however many identities come by.
func TestBucketsEvictTheLeastRecentlyUsed(t *testing.T) {
	g, _ := refusalGate(t, "version: 1\ndefault:\n  rpcs: [read]\n  rate: {per_second: 0.001, burst: 1}\n", &syncedBuffer{}, &clock{t: time.Unix(1e9, 0)})
	list := &contactsv1.ListContactsRequest{PropertyId: "1"}
	read := func(caller string) codes.Code {
		_, err := g.Admit(peerCtx("10.0.0.1:5", nil, "URI=spiffe://corp/"+caller), contactsv1.ContactsService_ListContacts_FullMethodName, list)
		return status.Code(err)
	}
	if c := read("hot"); c != codes.OK {
		t.Fatalf("first read: %v", c)
	}
	if c := read("hot"); c != codes.ResourceExhausted {
		t.Fatalf("second read: %v, want over the share", c)
	}
	for i := range DefaultMaxCallers - 1 { // the map is full
		if c := read(fmt.Sprint("c", i)); c != codes.OK {
			t.Fatalf("caller %d: %v", i, c)
		}
	}
	if c := read("hot"); c != codes.ResourceExhausted { // hot is used again
		t.Fatalf("hot with a full map: %v", c)
	}
	tests := []struct {
		caller string
		want   codes.Code
	}{
		{"new-1", codes.OK},              // drops c0, the least recently used
		{"hot", codes.ResourceExhausted}, // still over its share
		{"c0", codes.OK},                 // dropped: starts full again
		{"c0", codes.ResourceExhausted},
		{"new-2", codes.OK},
		{"hot", codes.ResourceExhausted},
	}
	for _, tt := range tests {
		if got := read(tt.caller); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.caller, got, tt.want)
		}
	}
	// Pinned by hand: the bound holds.
	g.local.mu.Lock()
	n := len(g.local.limiters)
	g.local.mu.Unlock()
	if n > DefaultMaxCallers {
		t.Errorf("%d buckets, want at most %d", n, DefaultMaxCallers)
	}
}
