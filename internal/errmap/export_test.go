package errmap

// EncodedSize is encodedSize, for TestEncodedSizeIsProtoSize.
var EncodedSize = encodedSize

// AppendBadRequest is appendBadRequest, for TestAppendBadRequestMatchesMarshal.
var AppendBadRequest = appendBadRequest

// MetaKeys is metaKeys, for TestMetaKeysSorted.
var MetaKeys = metaKeys

// AppendBytesHeader is appendBytesHeader, for TestAppendBytesHeader.
var AppendBytesHeader = appendBytesHeader
