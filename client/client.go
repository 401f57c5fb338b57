package client

import (
	"crypto/tls"
	"errors"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	contactsv1 "github.com/contacts-facade/contacts-facade/gen/contacts/v1"
)

// Domain is ErrorInfo.Domain of every error of the facade.
const Domain = "contacts-facade.booking.connectivity"

// Keys of ErrorInfo.Metadata. Every error carries all six, empty when a
// value is unknown.
const (
	MetaOTACode    = "otaCode"    // the OTA code of the first upstream error, e.g. "320"
	MetaOTACodes   = "otaCodes"   // every distinct OTA code, comma-separated
	MetaHTTPStatus = "httpStatus" // the upstream HTTP status, e.g. "400"; empty when none came
	MetaRequestID  = "requestId"  // the upstream request id (meta.ruid), for Booking.com support
	MetaPropertyID = "propertyId" // the property of the call
	MetaSource     = "source"     // "upstream" (the REST API said so) or "facade"
)

// DefaultServiceConfig is the gRPC service config Dial installs unless the
// name resolver provides one. Only the reads (ListContacts,
// GetProfileContacts) are retried: a write is safe to resend only with a
// request_id (NewRequestID), which the caller must choose, so callers retry
// writes themselves. Reads are retried only on UNAVAILABLE, the one code
// that means "this very call may work if sent again" (AIP-194): at most 3
// attempts, with exponential backoff from 0.2s. A retry never outlives the call's deadline.
// waitForReady false makes a call fail at once with UNAVAILABLE while the
// server cannot be reached, instead of waiting for it until the deadline.
const DefaultServiceConfig = `{
  "methodConfig": [
    {
      "name": [{"service": "contacts.v1.ContactsService"}],
      "waitForReady": false
    },
    {
      "name": [
        {"service": "contacts.v1.ContactsService", "method": "ListContacts"},
        {"service": "contacts.v1.ContactsService", "method": "GetProfileContacts"}
      ],
      "waitForReady": false,
      "retryPolicy": {
        "maxAttempts": 3,
        "initialBackoff": "0.2s",
        "maxBackoff": "2s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"]
      }
    }
  ]
}`

// userAgent prefixes grpc-go's own user agent, so the server's logs tell
// this client from others.
const userAgent = "contacts-facade-go-client"

// MaxRecvBytes is the largest answer Dial's client takes, above grpc-go's
// 4 MiB default: the operation of a 10,000-property bulk edit whose every
// item failed holds 10,000 statuses with their details, about 7 MB.
const MaxRecvBytes = 16 << 20

// Client is a connection to the facade. Its methods are those of
// contactsv1.ContactsServiceClient. It is safe for concurrent use; make one
// per process and share it.
type Client struct {
	contactsv1.ContactsServiceClient
	// Operations is the client of the google.longrunning.Operations
	// service of the bulk operations, on the same connection: GetOperation,
	// ListOperations, CancelOperation, DeleteOperation. WaitOperation
	// below waits for one to end.
	Operations longrunningpb.OperationsClient
	conn       *grpc.ClientConn
}

// Dial creates a client of the facade at target, in grpc.NewClient's syntax
// ("host:port", "dns:///host:port", ...). It does not connect yet: the
// first call does.
//
// Defaults, each of which an option in opts overrides (later options win):
// TLS with the system's root certificates, DefaultServiceConfig, a user
// agent, and answers of up to MaxRecvBytes. Pass Insecure() for a plaintext server on loopback, or
// grpc.WithTransportCredentials for your own TLS or mTLS configuration.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	all := append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})),
		grpc.WithDefaultServiceConfig(DefaultServiceConfig),
		grpc.WithUserAgent(userAgent),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvBytes)),
	}, opts...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, err
	}
	return &Client{
		ContactsServiceClient: contactsv1.NewContactsServiceClient(conn),
		Operations:            longrunningpb.NewOperationsClient(conn),
		conn:                  conn,
	}, nil
}

// Insecure is the DialOption of a plaintext connection, with no TLS: for a
// server on loopback (such as `go run ./cmd/contactsd`) and tests only.
func Insecure() grpc.DialOption {
	return grpc.WithTransportCredentials(insecure.NewCredentials())
}

// Conn is the underlying connection, e.g. for a grpc.health.v1 client.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; calls in flight fail with CANCELED.
func (c *Client) Close() error { return c.conn.Close() }

// grpcStatus is an error that carries a gRPC status, as status.FromError
// recognises it.
type grpcStatus interface {
	error
	GRPCStatus() *status.Status
}

// detail returns the first detail of type T in err's status, or the zero
// value (nil) when err is not a status error or has no such detail, or it
// could not be decoded. Only that detail is decoded: status.Details would
// decode them all, the ErrorInfo's metadata map first, which costs a
// caller that wants the field violations some 40 allocations.
//
// The status is found as status.FromError finds it, the first error of
// err's chain with a GRPCStatus method, but without FromError's work for a
// wrapped status error: there FromError copies the status twice to put
// err's text in its message, which detail does not read.
func detail[T proto.Message](err error) T {
	var zero T
	gs, ok := errors.AsType[grpcStatus](err)
	if !ok {
		return zero
	}
	st := gs.GRPCStatus()
	if st == nil {
		return zero // FromError's "ok" is false for a nil status too
	}
	mt := zero.ProtoReflect().Type()
	want := mt.Descriptor().FullName()
	for _, a := range st.Proto().GetDetails() {
		if a.MessageName() != want {
			continue
		}
		m := mt.New().Interface()
		if a.UnmarshalTo(m) == nil {
			return m.(T)
		}
	}
	return zero
}

// ErrorInfo returns the ErrorInfo of err, or nil when it has none (err is
// nil, not a gRPC status, or comes from something else than the facade,
// such as a failed connection). Every error the facade itself sends has
// exactly one; its Reason is stable and its Metadata has the Meta* keys.
func ErrorInfo(err error) *errdetails.ErrorInfo {
	return detail[*errdetails.ErrorInfo](err)
}

// OTACode returns the OTA code of err: the code of the (first) error the
// Contacts API answered, e.g. "321" for a missing field or "635" for a
// property not found, or the code the API would have answered for a
// request the facade refused itself. It is "" when there is none.
func OTACode(err error) string {
	return ErrorInfo(err).GetMetadata()[MetaOTACode]
}

// FieldViolations returns the bad fields of the request named by err's
// BadRequest detail, nil when there is none. Each Field is a path in the
// request message's own field names, e.g. "contacts[0].phones[1].phone_number";
// Reason is the ErrorInfo reason of that field (INVALID_VALUE,
// REQUIRED_FIELD_MISSING, ...), Description says what is wrong.
func FieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	return detail[*errdetails.BadRequest](err).GetFieldViolations()
}

// RetryDelay returns how long to wait before retrying, from err's RetryInfo
// detail. ok is false when err has none, or when its delay is not valid.
// The facade sends it with UNAVAILABLE and RESOURCE_EXHAUSTED when the
// upstream said how long to wait (e.g. Retry-After).
func RetryDelay(err error) (d time.Duration, ok bool) {
	ri := detail[*errdetails.RetryInfo](err)
	if ri == nil || ri.GetRetryDelay() == nil {
		return 0, false
	}
	if err := ri.GetRetryDelay().CheckValid(); err != nil {
		return 0, false
	}
	d = ri.GetRetryDelay().AsDuration()
	if d < 0 {
		return 0, false
	}
	return d, true
}
