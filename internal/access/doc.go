// Package access is who is calling, what they may do, and the trail of
// what they did: the gate of contacts.v1.ContactsService.
//
// A Gate names the caller of each call (the verified mTLS certificate, or
// the client-certificate header of a trusted mesh proxy, or anonymous),
// checks the call against the policy in force (RPC, property, the profiles
// a write changes), spends the caller's fair share of the upstream, and
// writes the audit record of every write, allowed or refused. The service
// calls Admit first in every handler, so nothing it holds (a cached or
// coalesced read) answers a caller the policy refuses; it asks the Call
// about the profiles only the current state shows (what a Replace deletes)
// under its write lock, and ends the Call with the answer the caller got.
//
// Fair shares are spent through Shares: LocalShares (token buckets in
// process, a caller's rate per replica) by default, or a shared one
// (redisstore.Shares, the rate once for the fleet), with this replica's
// part of the rate while the shared one fails.
//
// Nothing here travels in a context: the policy (a Holder) and the trail
// (a Trail) are dependencies of the Gate, and a Gate cannot be built
// without both. AllowAll and NoAudit say "everything" and "no trail"
// explicitly. Every refusal is a status error even when its details
// cannot be attached.
package access
