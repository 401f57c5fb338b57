"""Python helpers for contacts.v1.ContactsService (contacts-facade).

The generated code sits beside this package: ``contacts.v1.contacts_pb2``
(messages), ``contacts.v1.contacts_pb2_grpc`` (the stub) and
``google.rpc.status_pb2`` / ``google.rpc.error_details_pb2`` (the error
details), written by protoc from ``clients/descriptors/contacts.binpb``.
They need only ``grpcio`` and ``protobuf`` (Debian: python3-grpcio,
python3-protobuf), no googleapis-common-protos or grpcio-status.

``channel(target, insecure=True)`` opens a channel with the facade's retry
policy; ``details(err)`` reads the google.rpc.Status that every error of
the facade carries in its ``grpc-status-details-bin`` trailer.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Tuple, Union

import grpc
from google.protobuf import any_pb2

from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "ERROR_DOMAIN",
    "SERVICE_NAME",
    "DEFAULT_TIMEOUT",
    "Details",
    "channel",
    "details",
]

#: The full name of the service.
SERVICE_NAME = "contacts.v1.ContactsService"

#: ErrorInfo.domain of every error of the facade.
ERROR_DOMAIN = "contacts-facade.booking.connectivity"

#: A sensible deadline for one call, in seconds (pass it as ``timeout=``).
DEFAULT_TIMEOUT = 30.0

_STATUS_DETAILS_KEY = "grpc-status-details-bin"

# Retry ListContacts, and only it (the one idempotent call), on UNAVAILABLE;
# never wait for a connection that is down. The policy of the Go client.
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {"name": [{"service": SERVICE_NAME}], "waitForReady": False},
            {
                "name": [{"service": SERVICE_NAME, "method": "ListContacts"}],
                "waitForReady": False,
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.2s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            },
        ]
    }
)


def channel(
    target: str,
    *,
    insecure: bool = False,
    credentials: Optional[grpc.ChannelCredentials] = None,
    options: Iterable[Tuple[str, object]] = (),
) -> grpc.Channel:
    """Opens a channel to the facade at target (host:port).

    TLS with the system roots is the default; pass ``insecure=True`` for a
    plaintext local server, or ``credentials`` for your own (mTLS, ...).
    ``options`` go to grpc as they are, after the retry policy.
    """
    opts = [("grpc.service_config", _SERVICE_CONFIG), ("grpc.enable_retries", 1)]
    opts.extend(options)
    if insecure:
        return grpc.insecure_channel(target, options=opts)
    return grpc.secure_channel(target, credentials or grpc.ssl_channel_credentials(), options=opts)


@dataclass(frozen=True)
class Details:
    """The google.rpc.Status of a failed call, its details decoded.

    Each typed field is the detail of that type (the facade sends each type
    at most once), or None. ``others`` keeps, undecoded, every detail of a
    type not listed here.
    """

    code: grpc.StatusCode
    message: str
    error_info: Optional[error_details_pb2.ErrorInfo] = None
    bad_request: Optional[error_details_pb2.BadRequest] = None
    retry_info: Optional[error_details_pb2.RetryInfo] = None
    resource_info: Optional[error_details_pb2.ResourceInfo] = None
    request_info: Optional[error_details_pb2.RequestInfo] = None
    help: Optional[error_details_pb2.Help] = None
    others: List[any_pb2.Any] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """ErrorInfo.reason, e.g. "REQUIRED_FIELD_MISSING"; "" without one."""
        return self.error_info.reason if self.error_info else ""

    @property
    def ota_code(self) -> str:
        """The upstream OTA code, e.g. "321"; "" when there is none."""
        return self.error_info.metadata.get("otaCode", "") if self.error_info else ""

    @property
    def field_violations(self) -> List[error_details_pb2.BadRequest.FieldViolation]:
        """One entry per bad field of the request, [] when none."""
        return list(self.bad_request.field_violations) if self.bad_request else []

    @property
    def retry_delay(self) -> Optional[datetime.timedelta]:
        """How long to wait before trying again, None when not said."""
        if self.retry_info is None or not self.retry_info.HasField("retry_delay"):
            return None
        return self.retry_info.retry_delay.ToTimedelta()


# The attribute of Details that holds each decoded type.
_TYPED = {
    error_details_pb2.ErrorInfo: "error_info",
    error_details_pb2.BadRequest: "bad_request",
    error_details_pb2.RetryInfo: "retry_info",
    error_details_pb2.ResourceInfo: "resource_info",
    error_details_pb2.RequestInfo: "request_info",
    error_details_pb2.Help: "help",
}
_BY_NAME = {cls.DESCRIPTOR.full_name: (cls, attr) for cls, attr in _TYPED.items()}


def details(err: grpc.RpcError) -> Details:
    """Reads the google.rpc.Status of a failed call.

    err is what a stub call raises. An error without the trailer (a
    connection failure, a deadline passed on the client) gives its code and
    message and no details; so does a trailer that does not decode, so that
    an error handler never raises in turn.
    """
    code = _call(err, "code") or grpc.StatusCode.UNKNOWN
    message = _call(err, "details") or ""
    raw = _trailer(_call(err, "trailing_metadata") or ())
    if raw is None:
        return Details(code=code, message=message)
    st = status_pb2.Status()
    try:
        st.ParseFromString(raw)
    except Exception:  # a DecodeError, under any protobuf implementation
        return Details(code=code, message=message)

    found = {}
    others = []
    for any_msg in st.details:
        name = any_msg.type_url.rpartition("/")[2]
        typed = _BY_NAME.get(name)
        if typed is None or typed[1] in found:
            others.append(any_msg)
            continue
        cls, attr = typed
        msg = cls()
        if not any_msg.Unpack(msg):
            others.append(any_msg)
            continue
        found[attr] = msg
    return Details(code=code, message=st.message or message, others=others, **found)


def _call(err: object, method: str):
    fn = getattr(err, method, None)
    return fn() if callable(fn) else None


def _trailer(metadata: Iterable[Tuple[str, Union[bytes, str]]]) -> Optional[bytes]:
    # grpc gives the values of "-bin" keys as bytes, already base64-decoded.
    for key, value in metadata:
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            return value
    return None
