from google.longrunning import operations_pb2 as _operations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BULK_ITEM_OUTCOME_CANCELLED: BulkItemOutcome
BULK_ITEM_OUTCOME_CHANGED: BulkItemOutcome
BULK_ITEM_OUTCOME_FAILED: BulkItemOutcome
BULK_ITEM_OUTCOME_UNCHANGED: BulkItemOutcome
BULK_ITEM_OUTCOME_UNSPECIFIED: BulkItemOutcome
DESCRIPTOR: _descriptor.FileDescriptor
GENDER_FEMALE: Gender
GENDER_MALE: Gender
GENDER_UNSPECIFIED: Gender
JOB_TITLE_ADMINISTRATION_EMPLOYEE: JobTitle
JOB_TITLE_DIRECTOR_OF_BUSINESS_DEVELOPMENT: JobTitle
JOB_TITLE_E_COMMERCE_MANAGER: JobTitle
JOB_TITLE_FINANCE_MANAGER: JobTitle
JOB_TITLE_FRONT_OFFICE_EMPLOYEE: JobTitle
JOB_TITLE_FRONT_OFFICE_MANAGER: JobTitle
JOB_TITLE_GENERAL_MANAGER: JobTitle
JOB_TITLE_MARKETING_MANAGER: JobTitle
JOB_TITLE_OWNER: JobTitle
JOB_TITLE_RESERVATIONS_EMPLOYEE: JobTitle
JOB_TITLE_RESERVATIONS_MANAGER: JobTitle
JOB_TITLE_REVENUE_MANAGER: JobTitle
JOB_TITLE_ROOMS_DIVISION_MANAGER: JobTitle
JOB_TITLE_SALES_AND_MARKETING_MANAGER: JobTitle
JOB_TITLE_SALES_EXECUTIVE: JobTitle
JOB_TITLE_SALES_MANAGER: JobTitle
JOB_TITLE_UNKNOWN: JobTitle
JOB_TITLE_UNSPECIFIED: JobTitle
PHONE_TECH_TYPE_FAX: PhoneTechType
PHONE_TECH_TYPE_LANDLINE: PhoneTechType
PHONE_TECH_TYPE_MOBILE: PhoneTechType
PHONE_TECH_TYPE_UNSPECIFIED: PhoneTechType
PROFILE_TYPE_AVAILABILITY: ProfileType
PROFILE_TYPE_CENTRAL_RESERVATIONS: ProfileType
PROFILE_TYPE_CONTRACT: ProfileType
PROFILE_TYPE_GENERAL: ProfileType
PROFILE_TYPE_INVOICES: ProfileType
PROFILE_TYPE_PARITY: ProfileType
PROFILE_TYPE_REQUESTS: ProfileType
PROFILE_TYPE_RESERVATIONS: ProfileType
PROFILE_TYPE_SITE_CONTENT: ProfileType
PROFILE_TYPE_UNSPECIFIED: ProfileType

class Address(_message.Message):
    __slots__ = ["address_line", "city_name", "country_code", "language_code", "postal_code", "state_prov_code"]
    ADDRESS_LINE_FIELD_NUMBER: _ClassVar[int]
    CITY_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_PROV_CODE_FIELD_NUMBER: _ClassVar[int]
    address_line: str
    city_name: str
    country_code: str
    language_code: str
    postal_code: str
    state_prov_code: str
    def __init__(self, address_line: _Optional[str] = ..., city_name: _Optional[str] = ..., postal_code: _Optional[str] = ..., country_code: _Optional[str] = ..., language_code: _Optional[str] = ..., state_prov_code: _Optional[str] = ...) -> None: ...

class ApplyContactsTemplateRequest(_message.Message):
    __slots__ = ["contacts", "request_id", "targets", "validate_only"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    request_id: str
    targets: _containers.RepeatedCompositeFieldContainer[BulkTarget]
    validate_only: bool
    def __init__(self, targets: _Optional[_Iterable[_Union[BulkTarget, _Mapping]]] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., validate_only: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class BulkClearProfile(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class BulkEditMetadata(_message.Message):
    __slots__ = ["cancel_requested", "cancelled", "changed", "create_time", "end_time", "estimate", "failed", "failed_requests", "method", "remaining", "reverts", "total", "unchanged", "update_time", "validate_only"]
    class FailedRequestsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: _status_pb2.Status
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILED_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    REVERTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    cancel_requested: bool
    cancelled: int
    changed: int
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    estimate: BulkEstimate
    failed: int
    failed_requests: _containers.MessageMap[int, _status_pb2.Status]
    method: str
    remaining: int
    reverts: str
    total: int
    unchanged: int
    update_time: _timestamp_pb2.Timestamp
    validate_only: bool
    def __init__(self, method: _Optional[str] = ..., reverts: _Optional[str] = ..., validate_only: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., total: _Optional[int] = ..., changed: _Optional[int] = ..., unchanged: _Optional[int] = ..., failed: _Optional[int] = ..., cancelled: _Optional[int] = ..., remaining: _Optional[int] = ..., failed_requests: _Optional[_Mapping[int, _status_pb2.Status]] = ..., cancel_requested: bool = ..., estimate: _Optional[_Union[BulkEstimate, _Mapping]] = ...) -> None: ...

class BulkEditProfileRequest(_message.Message):
    __slots__ = ["clear", "profile", "request_id", "set", "targets", "update", "validate_only"]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    clear: BulkClearProfile
    profile: ProfileType
    request_id: str
    set: BulkSetProfile
    targets: _containers.RepeatedCompositeFieldContainer[BulkTarget]
    update: BulkUpdateProfile
    validate_only: bool
    def __init__(self, targets: _Optional[_Iterable[_Union[BulkTarget, _Mapping]]] = ..., profile: _Optional[_Union[ProfileType, str]] = ..., set: _Optional[_Union[BulkSetProfile, _Mapping]] = ..., update: _Optional[_Union[BulkUpdateProfile, _Mapping]] = ..., clear: _Optional[_Union[BulkClearProfile, _Mapping]] = ..., validate_only: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class BulkEditResponse(_message.Message):
    __slots__ = ["results"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BulkItemResult]
    def __init__(self, results: _Optional[_Iterable[_Union[BulkItemResult, _Mapping]]] = ...) -> None: ...

class BulkEstimate(_message.Message):
    __slots__ = ["bulk_calls_per_minute", "duration", "upstream_calls"]
    BULK_CALLS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_CALLS_FIELD_NUMBER: _ClassVar[int]
    bulk_calls_per_minute: float
    duration: _duration_pb2.Duration
    upstream_calls: int
    def __init__(self, upstream_calls: _Optional[int] = ..., bulk_calls_per_minute: _Optional[float] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BulkItemResult(_message.Message):
    __slots__ = ["etag_after", "etag_before", "index", "outcome", "property_id", "upstream_request_id"]
    ETAG_AFTER_FIELD_NUMBER: _ClassVar[int]
    ETAG_BEFORE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    etag_after: str
    etag_before: str
    index: int
    outcome: BulkItemOutcome
    property_id: str
    upstream_request_id: str
    def __init__(self, index: _Optional[int] = ..., property_id: _Optional[str] = ..., outcome: _Optional[_Union[BulkItemOutcome, str]] = ..., etag_before: _Optional[str] = ..., etag_after: _Optional[str] = ..., upstream_request_id: _Optional[str] = ...) -> None: ...

class BulkSetProfile(_message.Message):
    __slots__ = ["contacts"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class BulkTarget(_message.Message):
    __slots__ = ["etag", "property_id"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    etag: str
    property_id: str
    def __init__(self, property_id: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class BulkUpdateProfile(_message.Message):
    __slots__ = ["contact", "update_mask"]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    contact: Contact
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, contact: _Optional[_Union[Contact, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ClearProfileContactsRequest(_message.Message):
    __slots__ = ["etag", "profile", "property_id", "request_id", "validate_only"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    etag: str
    profile: ProfileType
    property_id: str
    request_id: str
    validate_only: bool
    def __init__(self, property_id: _Optional[str] = ..., profile: _Optional[_Union[ProfileType, str]] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class ClearProfileContactsResponse(_message.Message):
    __slots__ = ["contacts", "deleted_contacts", "etag", "previous_contacts", "upstream_request_id", "warnings"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    deleted_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    previous_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    upstream_request_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., etag: _Optional[str] = ..., previous_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., upstream_request_id: _Optional[str] = ..., deleted_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class Contact(_message.Message):
    __slots__ = ["address", "contact_person", "email", "phones", "profiles"]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_PERSON_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONES_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    address: Address
    contact_person: ContactPerson
    email: str
    phones: _containers.RepeatedCompositeFieldContainer[Phone]
    profiles: _containers.RepeatedScalarFieldContainer[ProfileType]
    def __init__(self, profiles: _Optional[_Iterable[_Union[ProfileType, str]]] = ..., contact_person: _Optional[_Union[ContactPerson, _Mapping]] = ..., address: _Optional[_Union[Address, _Mapping]] = ..., phones: _Optional[_Iterable[_Union[Phone, _Mapping]]] = ..., email: _Optional[str] = ...) -> None: ...

class ContactPerson(_message.Message):
    __slots__ = ["gender", "job_title", "language_code", "name"]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    JOB_TITLE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    gender: Gender
    job_title: JobTitle
    language_code: str
    name: str
    def __init__(self, name: _Optional[str] = ..., gender: _Optional[_Union[Gender, str]] = ..., job_title: _Optional[_Union[JobTitle, str]] = ..., language_code: _Optional[str] = ...) -> None: ...

class CreateContactsRequest(_message.Message):
    __slots__ = ["contacts", "property_id", "request_id", "validate_only"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    property_id: str
    request_id: str
    validate_only: bool
    def __init__(self, property_id: _Optional[str] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., request_id: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class CreateContactsResponse(_message.Message):
    __slots__ = ["contacts", "deleted_contacts", "etag", "previous_contacts", "request_id", "upstream_request_id", "warnings"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    deleted_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    previous_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    request_id: str
    upstream_request_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    def __init__(self, warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., request_id: _Optional[str] = ..., etag: _Optional[str] = ..., previous_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., upstream_request_id: _Optional[str] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., deleted_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class FindPropertiesRequest(_message.Message):
    __slots__ = ["email", "missing_profile", "property_ids"]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    MISSING_PROFILE_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_IDS_FIELD_NUMBER: _ClassVar[int]
    email: str
    missing_profile: ProfileType
    property_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, property_ids: _Optional[_Iterable[str]] = ..., missing_profile: _Optional[_Union[ProfileType, str]] = ..., email: _Optional[str] = ...) -> None: ...

class FindPropertiesResponse(_message.Message):
    __slots__ = ["contacts", "error", "etag", "property_id", "upstream_request_id"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    error: _status_pb2.Status
    etag: str
    property_id: str
    upstream_request_id: str
    def __init__(self, property_id: _Optional[str] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., etag: _Optional[str] = ..., upstream_request_id: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class GetProfileContactsRequest(_message.Message):
    __slots__ = ["profile", "property_id"]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    profile: ProfileType
    property_id: str
    def __init__(self, property_id: _Optional[str] = ..., profile: _Optional[_Union[ProfileType, str]] = ...) -> None: ...

class GetProfileContactsResponse(_message.Message):
    __slots__ = ["contacts", "etag", "upstream_request_id", "warnings"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    upstream_request_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., etag: _Optional[str] = ..., warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., upstream_request_id: _Optional[str] = ...) -> None: ...

class ListContactsRequest(_message.Message):
    __slots__ = ["no_language_fallback", "property_id"]
    NO_LANGUAGE_FALLBACK_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    no_language_fallback: bool
    property_id: str
    def __init__(self, property_id: _Optional[str] = ..., no_language_fallback: bool = ...) -> None: ...

class ListContactsResponse(_message.Message):
    __slots__ = ["cache_age", "cache_stale", "contacts", "etag", "request_id", "upstream_request_id", "warnings"]
    CACHE_AGE_FIELD_NUMBER: _ClassVar[int]
    CACHE_STALE_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    cache_age: _duration_pb2.Duration
    cache_stale: bool
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    request_id: str
    upstream_request_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., request_id: _Optional[str] = ..., etag: _Optional[str] = ..., upstream_request_id: _Optional[str] = ..., cache_age: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., cache_stale: bool = ...) -> None: ...

class Phone(_message.Message):
    __slots__ = ["extension", "phone_number", "phone_tech_type"]
    EXTENSION_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PHONE_TECH_TYPE_FIELD_NUMBER: _ClassVar[int]
    extension: str
    phone_number: str
    phone_tech_type: PhoneTechType
    def __init__(self, phone_number: _Optional[str] = ..., phone_tech_type: _Optional[_Union[PhoneTechType, str]] = ..., extension: _Optional[str] = ...) -> None: ...

class ReplaceContactsRequest(_message.Message):
    __slots__ = ["contacts", "etag", "property_id", "request_id", "validate_only"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    property_id: str
    request_id: str
    validate_only: bool
    def __init__(self, property_id: _Optional[str] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class ReplaceContactsResponse(_message.Message):
    __slots__ = ["contacts", "deleted_contacts", "etag", "previous_contacts", "request_id", "upstream_request_id", "warnings"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    deleted_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    previous_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    request_id: str
    upstream_request_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    def __init__(self, warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., request_id: _Optional[str] = ..., etag: _Optional[str] = ..., previous_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., upstream_request_id: _Optional[str] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., deleted_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class RevertBulkEditRequest(_message.Message):
    __slots__ = ["name", "request_id", "validate_only"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    validate_only: bool
    def __init__(self, name: _Optional[str] = ..., validate_only: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class SetProfileContactsRequest(_message.Message):
    __slots__ = ["contacts", "etag", "profile", "property_id", "request_id", "validate_only"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    profile: ProfileType
    property_id: str
    request_id: str
    validate_only: bool
    def __init__(self, property_id: _Optional[str] = ..., profile: _Optional[_Union[ProfileType, str]] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class SetProfileContactsResponse(_message.Message):
    __slots__ = ["contacts", "deleted_contacts", "etag", "previous_contacts", "upstream_request_id", "warnings"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    deleted_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    previous_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    upstream_request_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., etag: _Optional[str] = ..., previous_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., upstream_request_id: _Optional[str] = ..., deleted_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class UpdateProfileContactRequest(_message.Message):
    __slots__ = ["contact", "etag", "profile", "property_id", "request_id", "update_mask", "validate_only"]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    contact: Contact
    etag: str
    profile: ProfileType
    property_id: str
    request_id: str
    update_mask: _field_mask_pb2.FieldMask
    validate_only: bool
    def __init__(self, property_id: _Optional[str] = ..., profile: _Optional[_Union[ProfileType, str]] = ..., contact: _Optional[_Union[Contact, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., etag: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: bool = ...) -> None: ...

class UpdateProfileContactResponse(_message.Message):
    __slots__ = ["contacts", "deleted_contacts", "etag", "previous_contacts", "upstream_request_id", "warnings"]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CONTACTS_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    deleted_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    etag: str
    previous_contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    upstream_request_id: str
    warnings: _containers.RepeatedCompositeFieldContainer[Warning]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., etag: _Optional[str] = ..., previous_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[Warning, _Mapping]]] = ..., upstream_request_id: _Optional[str] = ..., deleted_contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class Warning(_message.Message):
    __slots__ = ["code", "message"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ProfileType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Gender(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class JobTitle(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PhoneTechType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BulkItemOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
