// Package service is the implementation of contacts.v1.ContactsService in
// front of the Booking.com Connectivity Contacts REST API, for contactsd
// and for any gRPC server of your own:
//
//	svc, err := service.New(service.Config{
//		Upstream: up,                 // the Contacts API
//		Policy:   service.AllowAll(), // required: who may do what
//		Audit:    service.NoAudit(),  // required: where writes are recorded
//	})
//	defer svc.Close() // stops the runner of bulk operations
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(svc.UnaryInterceptors()...))
//	svc.Register(srv) // ContactsService and google.longrunning.Operations
//
// Every dependency is a field of Config. New refuses a Config without an
// access policy or an audit trail: allowing every caller, or keeping no
// trail, is an explicit choice (AllowAll, NoAudit), never a default. Each
// handler admits its caller itself before anything else, so a server that
// forgets an interceptor cannot skip access control.
//
// A call is validated first: a request the upstream would refuse for a
// documented reason is refused here, with the same INVALID_ARGUMENT shape
// a translated upstream refusal has, and never reaches the upstream.
// Writes are read-modify-writes under the property's write lock (write.go),
// idempotent by AIP-155 request_id, checked against an optional etag.
//
// Bulk operations (bulk.go) are long-running operations over many
// properties: each item is the single call it stands for, run through the
// same write path at the upstream governor's bulk class, with its intent
// recorded first so that an operation resumed elsewhere writes no property
// twice. Config.Operations keeps them (in process by default; the fleet's
// Redis in contactsd), and the google.longrunning.Operations service that
// Register also registers follows them (operations.go).
//
// # Errors
//
// Every error is a gRPC status with a google.rpc.ErrorInfo whose domain is
// Domain and whose reason is the name of a contacts.v1.ErrorReason value
// (proto/contacts/v1/errors.proto says when each happens and what to do).
// Its metadata always has the keys MetaOTACode, MetaOTACodes,
// MetaHTTPStatus, MetaRequestID, MetaPropertyID and MetaSource. Requests
// with bad fields carry a google.rpc.BadRequest, one violation per field.
package service
