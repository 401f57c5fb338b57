from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

AUDIT_UNAVAILABLE: ErrorReason
AUTHENTICATION_FAILED: ErrorReason
AUTHORIZATION_ERROR: ErrorReason
BAD_UPSTREAM_RESPONSE: ErrorReason
CALLER_NOT_ALLOWED: ErrorReason
CALLER_RATE_LIMITED: ErrorReason
CANCELLED: ErrorReason
CHANGES_NOT_PERMITTED: ErrorReason
CONFLICT: ErrorReason
CONTACTS_NOT_WRITABLE: ErrorReason
DESCRIPTOR: _descriptor.FileDescriptor
ERROR_REASON_UNSPECIFIED: ErrorReason
ETAG_MISMATCH: ErrorReason
GENERAL_REQUIRED: ErrorReason
INTERNAL: ErrorReason
INVALID_ITEM: ErrorReason
INVALID_VALUE: ErrorReason
MALFORMED_REQUEST: ErrorReason
NOT_FOUND: ErrorReason
OPERATION_CANCELLED: ErrorReason
OPERATION_ITEMS_FAILED: ErrorReason
OPERATION_NOT_FOUND: ErrorReason
OPERATION_NOT_REVERTIBLE: ErrorReason
OPERATION_RUNNING: ErrorReason
OUTCOME_UNKNOWN: ErrorReason
PERMISSION_DENIED: ErrorReason
PROFILE_HAS_NO_CONTACT: ErrorReason
PROFILE_HAS_SEVERAL_CONTACTS: ErrorReason
RATE_LIMITED: ErrorReason
REQUEST_ID_REUSED: ErrorReason
REQUEST_TOO_LARGE: ErrorReason
REQUIRED_FIELD_MISSING: ErrorReason
SERVER_SHUTTING_DOWN: ErrorReason
SIMULTANEOUS_UPDATES: ErrorReason
SYSTEM_ERROR: ErrorReason
TOKEN_BUDGET_EXHAUSTED: ErrorReason
TOKEN_EXCHANGE_FAILED: ErrorReason
TOKEN_EXCHANGE_RATE_LIMITED: ErrorReason
TOKEN_EXCHANGE_UNAVAILABLE: ErrorReason
UNABLE_TO_PROCESS: ErrorReason
UNKNOWN_METHOD: ErrorReason
UNKNOWN_OTA_ERROR: ErrorReason
UPSTREAM_ERROR: ErrorReason
UPSTREAM_RATE_LIMITED: ErrorReason
UPSTREAM_RESPONSE_TOO_LARGE: ErrorReason
UPSTREAM_TIMEOUT: ErrorReason
UPSTREAM_UNAVAILABLE: ErrorReason
VIOLATIONS_OMITTED: ErrorReason
WRITE_LOCK_LOST: ErrorReason
WRITE_LOCK_TIMEOUT: ErrorReason
WRITE_STATE_UNAVAILABLE: ErrorReason

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
