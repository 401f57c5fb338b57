// Package client is the Go client of contacts.v1.ContactsService, the gRPC
// facade over the Booking.com Connectivity Contacts API.
//
// Dial connects with sane defaults: TLS with the system roots (plaintext
// only when asked with Insecure), automatic retries of the reads
// (ListContacts, GetProfileContacts), and only of them, when the answer is
// UNAVAILABLE, and calls that fail at once rather than wait while the
// server is down. The returned Client embeds
// the generated contactsv1.ContactsServiceClient, so every RPC is a method
// of it:
//
//	c, err := client.Dial("contacts-facade.internal:443")
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	resp, err := c.ListContacts(ctx, &contactsv1.ListContactsRequest{PropertyId: "1000001"})
//
// Every error of the facade is a google.rpc.Status with machine-readable
// details: exactly one ErrorInfo (a stable reason, and the upstream's OTA
// code in its metadata), a BadRequest naming each bad field of the request,
// and RetryInfo when a delay is known. ErrorInfo, OTACode, FieldViolations
// and RetryDelay read them from an error without any string parsing:
//
//	_, err := c.ReplaceContacts(ctx, req)
//	switch status.Code(err) {
//	case codes.InvalidArgument:
//		for _, v := range client.FieldViolations(err) {
//			log.Printf("fix %s: %s", v.GetField(), v.GetDescription())
//		}
//	case codes.Unavailable, codes.ResourceExhausted:
//		if d, ok := client.RetryDelay(err); ok {
//			log.Printf("retry in %s", d)
//		}
//	}
//
// Writes are made safe with an etag and a request_id (docs/safe-edits.md):
// read the contacts and their etag, write with that etag and a
// NewRequestID, and on ABORTED (EtagMismatch) read again and redo the edit;
// the example of EtagMismatch is that loop.
//
// Bulk operations (BulkEditProfile, ApplyContactsTemplate, RevertBulkEdit,
// docs/bulk.md) return a google.longrunning.Operation at once; the
// Client's Operations field is the client of the Operations service that
// follows them. WaitOperation waits for one to end, reporting its
// progress, and returns a BulkResult: the metadata, the per-item results,
// the operation's own error (Err), and the failed items by their index in
// the targets (FailedRequest, Failures), each with the status the single
// call would have returned:
//
//	op, err := c.BulkEditProfile(ctx, req)
//	if err != nil {
//		return err // refused whole: no operation
//	}
//	res, err := c.WaitOperation(ctx, op.GetName(), func(md *contactsv1.BulkEditMetadata) {
//		log.Printf("%d of %d left", md.GetRemaining(), md.GetTotal())
//	})
//	if err != nil {
//		return err // the wait failed; the operation goes on
//	}
//	for i, st := range res.Failures() {
//		log.Printf("targets[%d]: %v (OTA %s)", i, st.Err(), client.OTACode(st.Err()))
//	}
//
// Calls should carry a deadline (context.WithTimeout); the server gives
// calls without one its own default (30s unless configured).
package client
